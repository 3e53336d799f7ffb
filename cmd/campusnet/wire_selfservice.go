package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/selfservice"
)

// startSelfService serves the self-service pages, its JSON API, the payment
// webhook and the NOC pages on [selfservice] listen (and tls_listen).
func (s *server) startSelfService(ctx context.Context) error {
	log := s.log.With("service", "selfservice")
	deps := selfservice.Deps{Store: s.st, Identity: s.ident, SSO: s.sso, Now: s.now, Log: log, Registerer: s.reg}
	if s.local != nil {
		deps.Passwords = s.local
	}
	if s.disc != nil {
		deps.Disconnector = s.disc
	} else {
		log.Warn("RADIUS disconnects are not wired on this node; unbinding an online device cannot take it offline here")
	}
	money, err := s.billingService()
	if err != nil {
		return fmt.Errorf("selfservice: billing: %w", err)
	}
	deps.Money = money
	deps.Plans = money
	deps.Webhook = billing.NewWebhook(s.st, billing.WebhookConfig{Secret: []byte(s.cfg.SelfService.PaymentSecret),
		MaxAmount: access.Fen(s.cfg.SelfService.MaxRechargeFen), Location: s.cfg.Server.Location, AfterCredit: money.LiftGarden},
		s.log.With("service", "payments"), s.reg)
	svc, err := selfservice.New(selfServiceConfig(s.cfg, s.tokenKey), deps)
	if err != nil {
		return err
	}
	ln, err := s.listen("selfservice", s.cfg.SelfService.Listen)
	if err != nil {
		return err
	}
	if err := s.serveTLS("selfservice-tls", s.cfg.SelfService.TLSListen, s.cfg.SelfService.TLSCert, s.cfg.SelfService.TLSKey, withHSTS(svc)); err != nil {
		ln.Close()
		return err
	}
	var plain http.Handler = svc
	if s.cfg.SelfService.TLSListen != "" {
		// Passwords travel only over TLS: the plain listener sends people
		// to HTTPS and keeps serving only the payment webhook (signed
		// with HMAC) and the health check.
		plain = toHTTPS(s.cfg.SelfService.PublicURL, s.Addr("selfservice-tls"), svc, "/api/v1/payments/notify", "/healthz")
	}
	s.serveHTTP("selfservice", ln, plain)
	if a := s.cfg.SelfService.ListenIPv6; a != "" {
		ln6, err := s.listen("selfservice-ipv6", a)
		if err != nil {
			return err
		}
		s.serveHTTP("selfservice-ipv6", ln6, plain)
	}
	return nil
}

// hstsMaxAge is how long a browser that reached self-service over TLS
// keeps to HTTPS for its host (a year; the host only, not its subdomains).
const hstsMaxAge = "max-age=31536000"

// withHSTS adds Strict-Transport-Security to the TLS listener's answers.
func withHSTS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsMaxAge)
		h.ServeHTTP(w, r)
	})
}

// toHTTPS redirects every request to the same path under publicURL, the
// configured HTTPS address, or the HTTPS listener's own address when none
// is configured (308 keeps the method and body), except the paths listed,
// which h serves. The Host header never names the target.
func toHTTPS(publicURL, tlsAddr string, h http.Handler, keep ...string) http.Handler {
	base := strings.TrimSuffix(publicURL, "/")
	if base == "" {
		host, port, _ := net.SplitHostPort(tlsAddr)
		if port == "443" {
			base = "https://" + host
		} else {
			base = "https://" + net.JoinHostPort(host, port)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range keep {
			if r.URL.Path == k {
				h.ServeHTTP(w, r)
				return
			}
		}
		target := base + r.URL.EscapedPath()
		if !strings.HasPrefix(r.URL.EscapedPath(), "/") {
			target = base + "/"
		}
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}

// selfServiceConfig maps the file's keys onto self-service's Config. The
// session cookies are signed with a key derived from [server] token_key,
// which every node of a deployment already shares: a session opened on one
// node is good on all of them, with no session table. Without token_key
// each process has its own random key (one node; restarting it logs people
// out).
func selfServiceConfig(cfg *config.Config, tokenKey logintoken.Key) selfservice.Config {
	m := hmac.New(sha256.New, tokenKey[:])
	m.Write([]byte("campusnet selfservice session key v1"))
	sc := selfservice.Config{
		Organisation: cfg.Server.Organisation, NodeID: cfg.Server.NodeID, Version: version,
		PaymentURL: cfg.SelfService.PaymentURL, Admins: cfg.SelfService.Admins,
		Helpdesk: cfg.Server.Helpdesk, PasswordResetURL: cfg.Portal.PasswordResetURL, TrailingX: cfg.Identity.TrailingX,
		TrustedProxies: cfg.SelfService.TrustedProxyPrefixes,
		SessionKey:     m.Sum(nil), SecureCookies: cfg.SelfService.SecureCookies,
		Location:  cfg.Server.Location,
		PublicURL: cfg.SelfService.PublicURL, NoPasswordLogin: !cfg.Identity.SSO.PasswordLoginOn(),
	}
	if sc.PublicURL == "" {
		// Without TLS self-service is reached where the portal links to it.
		sc.PublicURL = cfg.Portal.SelfServiceURL
	}
	sc.Areas, sc.NAS = cfg.AccessAreas(), cfg.AccessBASes()
	for i := range sc.NAS { // the NOC's BAS list shows no secret, so it is not given one
		sc.NAS[i].Secret, sc.NAS[i].PortalSecret = "", ""
	}
	return sc
}
