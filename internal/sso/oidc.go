package sso

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
)

// oidcState is what discovery found for a provider.
type oidcState struct {
	p            *oidc.Provider
	verifier     *oidc.IDTokenVerifier
	endSession   string
	authEndpoint string
}

// discover runs OpenID Connect discovery once it works: a provider that is
// down at start is asked again at the next login (at most every 5 s).
func (c *Client) discover(ctx context.Context, p *provider) (*oidcState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oidc != nil {
		return p.oidc, nil
	}
	if c.now().Sub(p.failedAt) < 5*time.Second {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, p.Issuer)
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	// go-oidc keeps only the HTTP client of this context for its later
	// JWKS fetches, not its deadline.
	op, err := oidc.NewProvider(oidc.ClientContext(dctx, c.http), p.Issuer)
	if err != nil {
		p.failedAt = c.now()
		c.log.Warn("sso: OpenID Connect discovery failed", "provider", p.Name, "err", err)
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, p.Issuer)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = op.Claims(&extra)
	o := &oidcState{p: op, endSession: extra.EndSession, authEndpoint: op.Endpoint().AuthURL,
		verifier: op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: c.now})}
	p.oidc = o
	return o, nil
}

func (o *oidcState) config(p *provider, callback string) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range p.Scopes {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	ep := o.p.Endpoint()
	if p.ClientSecret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: ep, RedirectURL: callback, Scopes: scopes}
}

func (o *oidcState) authURL(p *provider, callback, state, nonce, verifier string) string {
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce)}
	if verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	return o.config(p, callback).AuthCodeURL(state, opts...)
}

// oidcFinish exchanges the code, verifies the ID token and reads the
// claims.
func (c *Client) oidcFinish(ctx context.Context, p *provider, callback, code string, st access.SSOState) (identity.Person, error) {
	if code == "" || len(code) > 2048 {
		return identity.Person{}, fmt.Errorf("%w: no code", ErrDenied)
	}
	o, err := c.discover(ctx, p)
	if err != nil {
		return identity.Person{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hctx := oidc.ClientContext(ctx, c.http)
	var opts []oauth2.AuthCodeOption
	if st.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(st.Verifier))
	}
	tok, err := o.config(p, callback).Exchange(hctx, code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// invalid_grant: a code used twice, expired, or for another client.
			return identity.Person{}, fmt.Errorf("%w: token endpoint: %s", ErrDenied, cleanCode(re.ErrorCode))
		}
		c.log.Warn("sso: token endpoint unreachable", "provider", p.Name, "err", redact(err))
		return identity.Person{}, fmt.Errorf("%w: %s", ErrUnavailable, p.Issuer)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity.Person{}, fmt.Errorf("%w: no ID token", ErrDenied)
	}
	idt, err := o.verifier.Verify(hctx, raw)
	if err != nil {
		return identity.Person{}, fmt.Errorf("%w: ID token: %v", ErrDenied, err)
	}
	if idt.Nonce == "" || idt.Nonce != st.Nonce {
		return identity.Person{}, fmt.Errorf("%w: ID token nonce does not match", ErrDenied)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return identity.Person{}, fmt.Errorf("%w: ID token claims: %v", ErrDenied, err)
	}
	if claimString(claims, p.AccountClaim) == "" || (p.RoleClaim != "" && claims[p.RoleClaim] == nil) {
		// The ID token carries only what the provider puts there; the
		// rest is at UserInfo, for the same subject.
		ui, err := o.p.UserInfo(hctx, oauth2.StaticTokenSource(tok))
		if err == nil {
			extra := map[string]any{}
			if err := ui.Claims(&extra); err == nil && ui.Subject == idt.Subject {
				for k, v := range extra {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		} else {
			c.log.Warn("sso: userinfo", "provider", p.Name, "err", redact(err))
		}
	}
	return personFrom(p.Name, claimString(claims, p.AccountClaim), claimString(claims, p.NameClaim), claimString(claims, p.RoleClaim))
}

// claimString is a claim as text: a string, a number, or the first string
// of a list (roles often come as a list).
func claimString(claims map[string]any, name string) string {
	if name == "" {
		return ""
	}
	switch v := claims[name].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprintf("%.0f", v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// redact keeps URLs (which may hold a code) out of a logged error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, "(url withheld)", ue.Err)
	}
	return err
}
