package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/device"
)

// handleEntry is GET /: the page a BAS redirects to, or that a person
// opens by typing the portal's address.
func (p *Portal) handleEntry(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > 4096 {
		p.renderMessage(w, r, http.StatusRequestURITooLong, "portal.message.too_long", "portal.message.too_long_text", "/")
		return
	}
	src := sourceAddr(r)
	e, prob := p.resolveEntry(r.URL.Query(), src)
	if prob != nil {
		status := http.StatusOK
		if prob.Kind == "bad-ip" {
			status = http.StatusBadRequest
		}
		p.render(w, r, status, pageUnknown, &pageData{Title: "portal.unknown.cannot_login", Problem: prob})
		return
	}
	// Someone already online who opens the portal sees the status page
	// with a logout button — only from their own address, and only when
	// they typed the address: a BAS redirects only an address it does not
	// have online, so a live row for a redirected address is stale (its
	// Stop lost, the reaper not yet come) and may be the previous holder of
	// a reused DHCP lease, whose name and balance are not this person's.
	// And only to the browser that logged it in (ownsSession): another
	// device given the same address sees that it is taken and what to do.
	if e.UserIP == src && e.ByHand {
		if sess, err := p.st.LiveSessionByIP(r.Context(), e.UserIP.String()); err == nil {
			if !p.ownsSession(r, sess) {
				p.renderHeld(w, r, e.UserIP)
				return
			}
			p.renderStatus(w, r, e.UserIP, &sess, true)
			return
		}
	}
	p.renderLogin(w, r, http.StatusOK, e, "", nil)
}

func (p *Portal) renderLogin(w http.ResponseWriter, r *http.Request, status int, e entry, username string, rf *refusalView) {
	d := &pageData{Title: "portal.login.title", Hidden: hiddenFields(e.query()), Username: username,
		UserIP: e.UserIP.String(), MAC: e.MAC, ResetURL: p.cfg.PasswordResetURL, Refusal: rf, RetryURL: retryURL(e)}
	if e.NAS != nil {
		d.NASName = e.NAS.Name
	}
	if p.cfg.Demo {
		d.Demo = p.demoRedirect(e)
	}
	d.SSO, d.NoPassword = p.ssoButtons(e), p.cfg.NoPasswordLogin
	p.render(w, r, status, pageLogin, d)
}

// demoRedirect makes up the redirect a BAS would send for another user in
// the entry's BAS's first non-loopback subnet.
func (p *Portal) demoRedirect(e entry) *demoView {
	if e.NAS == nil {
		return nil
	}
	for _, s := range e.NAS.UserSubnets {
		if !s.Addr().Is4() || s.Addr().IsLoopback() || s.Bits() > 30 {
			continue
		}
		b := s.Masked().Addr().As4()
		host := rand.Uint32() | 1
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		mask := uint32(1)<<(32-s.Bits()) - 1
		v = v&^mask | host&mask&^0xff | uint32(2+rand.IntN(250))
		ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		mac := fmt.Sprintf("00:16:3e:%02x:%02x:%02x", rand.IntN(256), rand.IntN(256), rand.IntN(256))
		q := url.Values{"wlanuserip": {ip.String()}, "wlanacname": {e.NAS.Name}, "usermac": {mac},
			"wlanuserfirsturl": {"http://www.example.edu.cn/"}, "ssid": {"CampusNet"}}
		// A dual-stack BAS names the user's IPv6 address too.
		for _, s6 := range e.NAS.UserSubnets {
			if s6.Addr().Is6() && !s6.Addr().Is4In6() && s6.Bits() <= 64 {
				a := s6.Masked().Addr().As16()
				a[15] = byte(2 + rand.IntN(250))
				a[14] = byte(rand.IntN(256))
				q.Set("userip6", netip.AddrFrom16(a).String())
				break
			}
		}
		return &demoView{RedirectURL: "/?" + q.Encode(), UserIP: ip.String(), MAC: mac}
	}
	return nil
}

// handleStatus is GET /status: the session of the address asking, or of
// the address a logout ticket names.
func (p *Portal) handleStatus(w http.ResponseWriter, r *http.Request) {
	ip := sourceAddr(r)
	withTicket := false
	var t ticket
	if s := r.URL.Query().Get("ticket"); s != "" {
		var ok bool
		t, ok = p.readTicket(s)
		a, err := netip.ParseAddr(t.IP)
		if !ok || err != nil {
			p.renderMessage(w, r, http.StatusForbidden, "portal.message.invalid_link", "portal.message.invalid_link_text", "/")
			return
		}
		ip, withTicket = a, true
	}
	var sp *access.Session
	if sess, err := p.st.LiveSessionByIP(r.Context(), ip.String()); err == nil {
		// A ticket shows its own account's session only: once the address
		// is someone else's (a reused DHCP lease), it reads "not online".
		// Without a ticket, the address asking shows its session only to
		// the browser that logged it in.
		switch {
		case withTicket && strings.EqualFold(sess.Username, t.User):
			sp = &sess
		case !withTicket && !p.ownsSession(r, sess):
			p.renderHeld(w, r, ip)
			return
		case !withTicket:
			sp = &sess
		}
	} else if !errors.Is(err, access.ErrNotFound) {
		p.log.Warn("status lookup", "ip", ip, "err", err)
	}
	p.renderStatus(w, r, ip, sp, withTicket || ip == sourceAddr(r))
}

// renderHeld is the status page of an address online under a login that
// is not this browser's: no account, balance or logout, and the help
// desk's steps to get an address of one's own.
func (p *Portal) renderHeld(w http.ResponseWriter, r *http.Request, ip netip.Addr) {
	p.log.Info("status of an address online under another login", "ip", ip)
	p.render(w, r, http.StatusOK, pageStatus, &pageData{Title: "portal.status.title", UserIP: ip.String(), Held: true})
}

func (p *Portal) renderStatus(w http.ResponseWriter, r *http.Request, ip netip.Addr, sess *access.Session, mayLogout bool) {
	d := &pageData{Title: "portal.status.title", UserIP: ip.String()}
	if sess == nil {
		if nas, at, ok, err := p.st.KickByIP(r.Context(), ip.String(), p.now().Add(-kickMemory)); err != nil {
			p.log.Warn("status: NTF_LOGOUT note", "ip", ip, "err", err)
		} else if ok {
			d.Kicked = &kickView{NAS: nas, At: at.In(p.cfg.Location).Format(timeLayout + ":05 -07:00")}
		}
		p.render(w, r, http.StatusOK, pageStatus, d)
		return
	}
	a, err := p.st.AccountByUsername(r.Context(), sess.Username)
	if err != nil {
		a = access.Account{ID: sess.AccountID, Username: sess.Username}
	}
	started := sess.StartedAt
	if started == 0 {
		started = sess.ReservedAt
	}
	v := p.onlineFor(r, a, sess.Area, sess.Class, sess.IP, sess.MAC, started, false)
	v.IP6 = sess.IPv6Text()
	if v.IP == "" {
		v.IP, v.IP6 = v.IP6, "" // IPv6 only
	}
	v.Traffic = newTrafficView(sess, p.cfg.Location)
	if mayLogout {
		v.Ticket = p.signTicket(ticketFor(ip, sess.NAS, sess.Username))
	}
	d.Online = v
	p.render(w, r, http.StatusOK, pageStatus, d)
}

// captiveJSON is the RFC 8908 API answer.
type captiveJSON struct {
	Captive          bool   `json:"captive"`
	UserPortalURL    string `json:"user-portal-url"`
	SecondsRemaining *int64 `json:"seconds-remaining,omitempty"`
	BytesRemaining   *int64 `json:"bytes-remaining,omitempty"`
}

// handleCaptiveAPI is GET /api/v1/captive (RFC 8908) for the address asking.
func (p *Portal) handleCaptiveAPI(w http.ResponseWriter, r *http.Request) {
	out := captiveJSON{Captive: true, UserPortalURL: p.public.String()}
	if sess, err := p.st.LiveSessionByIP(r.Context(), sourceAddr(r).String()); err == nil {
		out.Captive = false
		if left, ok := p.secondsRemaining(r, sess); ok {
			out.SecondsRemaining = &left
		}
		if left, ok := p.bytesRemaining(r, sess); ok {
			out.BytesRemaining = &left
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/captive+json")
	h.Set("Cache-Control", "private, no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// secondsRemaining is the shorter of what is left of the Session-Timeout
// and of the billing cycle.
func (p *Portal) secondsRemaining(r *http.Request, sess access.Session) (int64, bool) {
	now := p.now()
	var left int64 = -1
	if p.cfg.SessionTimeout > 0 {
		start := sess.StartedAt
		if start == 0 {
			start = sess.ReservedAt
		}
		left = int64(access.FromMillis(start).Add(p.cfg.SessionTimeout).Sub(now).Seconds())
	}
	if area, ok := p.areas[sess.Area]; ok && area.Fee > 0 {
		if c, err := p.st.ActiveCycle(r.Context(), sess.AccountID, sess.Area); err == nil {
			cl := int64(access.FromMillis(c.EndsAt).Sub(now).Seconds())
			if left < 0 || cl < left {
				left = cl
			}
		}
	}
	if left < 0 {
		if left == -1 {
			return 0, false
		}
		left = 0
	}
	return left, true
}

// Probe answers for an address that is online: what each OS expects to see
// when the Internet is reachable (docs/protocols.md#os-connectivity-probes).
const (
	appleSuccess   = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
	firefoxSuccess = `<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>`
)

// answerProbe handles an OS connectivity check. Before login it redirects
// to the login page (the OS then opens its captive-portal sheet); for an
// address that is online it gives the expected success answer. A probe is
// never used to classify a device.
func (p *Portal) answerProbe(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if _, err := p.st.LiveSessionByIP(r.Context(), sourceAddr(r).String()); err != nil {
		p.m.probes.WithLabelValues("redirect").Inc()
		http.Redirect(w, r, p.loginURLFor(r), http.StatusFound)
		return
	}
	p.m.probes.WithLabelValues("success").Inc()
	host := strings.ToLower(r.Host)
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	path := strings.ToLower(r.URL.Path)
	text := func(s string) {
		h.Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(s))
	}
	switch {
	case strings.HasSuffix(host, "apple.com"):
		h.Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(appleSuccess))
	case strings.HasSuffix(host, "msftconnecttest.com"):
		text("Microsoft Connect Test")
	case strings.HasSuffix(host, "msftncsi.com"):
		text("Microsoft NCSI")
	case host == "detectportal.firefox.com" && strings.HasPrefix(path, "/success.txt"):
		text("success\n")
	case host == "detectportal.firefox.com":
		h.Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(firefoxSuccess))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// loginURLFor is the login page with the original address to continue to.
func (p *Portal) loginURLFor(r *http.Request) string {
	u := *p.public
	orig := "http://" + cut(r.Host, 255) + cut(r.URL.RequestURI(), 512)
	if safeURL(orig) != "" {
		u.RawQuery = url.Values{"url": {orig}}.Encode()
	}
	return u.String()
}

// ours reports whether the request is addressed to the portal itself
// rather than intercepted on its way elsewhere.
func (p *Portal) ours(r *http.Request) bool {
	host := strings.ToLower(r.Host)
	if h, _, err := splitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "" || host == "localhost" || host == strings.ToLower(p.public.Hostname()) {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

func splitHostPort(h string) (string, string, error) {
	i := strings.LastIndexByte(h, ':')
	if i < 0 || strings.HasSuffix(h, "]") {
		return h, "", errors.New("no port")
	}
	return h[:i], h[i+1:], nil
}

// isProbe: an OS connectivity check by host, path or User-Agent; never
// the portal's own API, forms or a non-GET.
func isProbe(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return device.IsProbeRequest(r)
}
