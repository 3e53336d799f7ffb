package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/portal/portalproto"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// runCommand is `bassim run`: a BAS with subscribers online until
// interrupted.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bassim run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs)
	var logins, macLogins multi
	var coa string
	var nak int
	var interim time.Duration
	var acctOn bool
	var portalListen, portalSecret, portalNotify string
	var portalVersion int
	var portalIPv6 string
	fs.Var(&logins, "login", "log in USER:PASS[:MAC[:IP]] by PAP (repeatable)")
	fs.Var(&macLogins, "mac-login", "log in a MAC by MAC authentication, MAC[:IP] (repeatable)")
	fs.StringVar(&coa, "coa", "127.0.0.1:3799", "where Disconnect-Requests arrive (\"\" = none)")
	fs.IntVar(&nak, "nak", 0, "answer Disconnect-Requests with a NAK with this Error-Cause (e.g. 503, 506)")
	fs.DurationVar(&interim, "interim", 0, "Interim-Update interval (default: what the server says, else 300s)")
	fs.BoolVar(&acctOn, "accounting-on", false, "send Accounting-On first (as a BAS does when it boots)")
	fs.StringVar(&portalListen, "portal-listen", "", "also be the Portal-protocol side of the BAS on this UDP address (e.g. 127.0.0.1:2000, a NAS's portal_addr)")
	fs.StringVar(&portalSecret, "portal-secret", "testing123", "Portal protocol shared secret (v2)")
	fs.StringVar(&portalNotify, "portal-notify", "127.0.0.1:50100", "the portal's notify_listen, where NTF_LOGOUT goes after a Disconnect-Request")
	fs.StringVar(&portalIPv6, "portal-ipv6", "huawei", "how NTF_LOGOUT names an IPv6 user: huawei (User-IPv6 0xF1) or h3c (UserIPv6-List 0x65); requests are answered in their own style")
	fs.IntVar(&portalVersion, "portal-version", 2, "Portal protocol version of NTF_LOGOUT (1 or 2; requests are answered in the version they come in)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("service", "bassim")
	nasIP, err := netip.ParseAddr(c.nasIP)
	if err != nil {
		return fmt.Errorf("%w: --nas-ip %q", errUsage, c.nasIP)
	}
	v6, err := c.ipv6Prefix()
	if err != nil {
		return err
	}
	style, err := portalproto.ParseIPv6Style(portalIPv6)
	if err != nil {
		return fmt.Errorf("%w: --portal-ipv6: %v", errUsage, err)
	}
	auth, acct := c.addrs()
	b := bas.New(bas.Config{NASIP: nasIP, Secret: c.secret, AuthAddr: auth, AcctAddr: acct, CoAListen: coa,
		InterimInterval: interim, Log: log, Retry: c.retry, MaxTries: c.tries, IPv6Prefix: v6})
	defer b.Close()
	b.SetNAK(nak)
	b.OnDisconnect = func(ip, ip6 netip.Addr, mac string) {
		fmt.Fprintf(stdout, "disconnected by the server: ip %s ipv6 %s mac %s\n", ip, ip6, mac)
	}
	if portalListen != "" {
		if portalVersion != 1 && portalVersion != 2 {
			return fmt.Errorf("%w: --portal-version must be 1 or 2", errUsage)
		}
		printDisconnect := b.OnDisconnect
		p := bas.NewPortalSide(b, bas.PortalSideConfig{Secret: portalSecret, BASIP: nasIP, NotifyAddr: portalNotify,
			NotifyVersion: portalproto.Version(portalVersion), IPv6Style: style, Log: log})
		portalDisconnect := b.OnDisconnect // NewPortalSide's: Accounting-Stop is done; send NTF_LOGOUT
		b.OnDisconnect = func(ip, ip6 netip.Addr, mac string) {
			portalDisconnect(ip, ip6, mac)
			printDisconnect(ip, ip6, mac)
		}
		pc, err := net.ListenPacket("udp", portalListen)
		if err != nil {
			return fmt.Errorf("portal listen %s: %w", portalListen, err)
		}
		fmt.Fprintf(stdout, "answering the Portal protocol on %s (NTF_LOGOUT to %s)\n", pc.LocalAddr(), portalNotify)
		go func() { _ = p.Serve(pc) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = p.Shutdown(sctx)
		}()
	}
	if coa != "" {
		a, err := b.ListenCoA()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "answering Disconnect-Requests on %s (%s)\n", a, map[bool]string{true: fmt.Sprintf("NAK %d", nak), false: "ACK"}[nak != 0])
		go b.ServeCoA(ctx)
	}
	if acctOn {
		if err := b.AccountingOn(ctx); err != nil {
			return err
		}
	}
	var online []string
	login := func(r bas.AuthRequest) {
		res, err := b.Authenticate(ctx, r)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "%s: %v\n", r.UserName, err)
		case !res.Accepted:
			fmt.Fprintf(stdout, "%s: REJECTED: %s\n", orMAC(r), strings.ReplaceAll(res.ReplyMessage, "\n", " | "))
		default:
			if err := b.Start(ctx, res.AcctSessionID); err != nil {
				fmt.Fprintf(stdout, "%s: accepted as %s, but Accounting-Start failed: %v\n", orMAC(r), res.UserName, err)
				return
			}
			online = append(online, res.AcctSessionID)
			fmt.Fprintf(stdout, "%s: online as %s (session %s, class %s)\n", orMAC(r), res.UserName, res.AcctSessionID, res.Class)
			if s, ok := b.Session(res.AcctSessionID); ok && s.UserIPv6.IsValid() {
				fmt.Fprintf(stdout, "%s: IPv6 %s\n", orMAC(r), s.UserIPv6)
			}
		}
	}
	for _, l := range logins {
		parts := strings.SplitN(l, ":", 4)
		if len(parts) < 2 {
			return fmt.Errorf("%w: --login %q: want USER:PASS[:MAC[:IP]]", errUsage, l)
		}
		r := bas.AuthRequest{UserName: parts[0], Password: parts[1]}
		if len(parts) > 2 {
			// A MAC with colons would split: accept dashes, or the MAC and IP after the last colons.
			rest := strings.Join(parts[2:], ":")
			r.MAC, r.UserIP = splitMACIP(rest)
		}
		login(r)
	}
	for _, m := range macLogins {
		mac, ip := splitMACIP(m)
		login(bas.AuthRequest{MAC: mac, UserIP: ip})
	}
	fmt.Fprintf(stdout, "%d online; Ctrl-C to log them out\n", len(online))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, s := range b.Sessions() {
				if err := b.Stop(sctx, s.AcctSessionID); err != nil {
					fmt.Fprintf(stdout, "stop %s: %v\n", s.AcctSessionID, err)
				}
			}
			return nil
		case <-tick.C:
			for _, s := range b.Sessions() {
				if s.Started && time.Since(s.StartedAt) >= s.Interim && int(time.Since(s.StartedAt)/time.Second)%int(s.Interim/time.Second) == 0 {
					if err := b.Interim(ctx, s.AcctSessionID); err != nil {
						log.Warn("interim-update", "session", s.AcctSessionID, "err", err)
					}
				}
			}
		}
	}
}

func orMAC(r bas.AuthRequest) string {
	if r.UserName != "" {
		return r.UserName
	}
	return r.MAC
}

// splitMACIP splits "MAC" or "MAC:IP" (a MAC with colons has 17 characters).
func splitMACIP(s string) (string, netip.Addr) {
	if len(s) > 17 && s[17] == ':' {
		ip, _ := netip.ParseAddr(s[18:])
		return s[:17], ip
	}
	if i := strings.LastIndex(s, ":"); i > 0 && len(s) != 17 {
		if ip, err := netip.ParseAddr(s[i+1:]); err == nil {
			return s[:i], ip
		}
	}
	return s, netip.Addr{}
}
