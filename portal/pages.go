package portal

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

// Page names; each is templates/<name>.html inside templates/layout.html.
const (
	pageLogin    = "login"
	pageOnline   = "online"
	pageRefused  = "refused"
	pageUnknown  = "unknown"
	pagePassword = "password"
	pageStatus   = "status"
	pageMessage  = "message"
)

// parsePages parses every page with the layout. It panics on a template
// error: the templates are embedded, so that is a bug caught by any test.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{pageLogin, pageOnline, pageRefused, pageUnknown, pagePassword, pageStatus, pageMessage} {
		out[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/plan.html", "templates/"+name+".html"))
	}
	return out
}

// pageData is what every template gets; each page reads its part.
type pageData struct {
	// L prints the page's messages in the request's language (i18n);
	// SwitchURL is this page in the other language.
	L           *i18n.Printer
	SwitchURL   string
	Title       string
	Org, Node   string
	Helpdesk    string
	ScriptNonce string
	CSRF        string

	// Login and password forms.
	Hidden   []field
	Username string
	UserIP   string
	MAC      string
	NASName  string
	ResetURL string
	Demo     *demoView
	// SSO are the single sign-on buttons; NoPassword hides the password form.
	SSO        []ssoButton
	NoPassword bool
	// SSOLogoutURL ends the provider's session after a logout.
	SSOLogoutURL string

	Problem *entryProblem
	Online  *onlineView
	Refusal *refusalView
	Kicked  *kickView
	// Held: the address asking is online, but not from a login in this
	// browser; the status page names nobody and gives the steps to get an
	// address of one's own.
	Held bool
	// PasswordSaved: the initial password was changed in this request,
	// whatever came of the login after it.
	PasswordSaved bool

	// Message page: Message is a catalogue id.
	Message, MessageClass string
	RetryURL              string

	// InitialX is the catalogue id of the initial-password rule for an
	// id card ending in X (Config.TrailingX).
	InitialX string
}

type field struct{ Name, Value string }

type demoView struct {
	RedirectURL string
	UserIP, MAC string
}

type kickView struct{ NAS, At string }

// onlineView is the online and status pages' account summary.
type onlineView struct {
	Username, Name string
	Class          string
	DesktopMode    bool
	Area           string
	AreaZH, AreaEN string // the area's display names
	Balance        access.Fen
	Fee            access.Fen
	CycleEnd       string
	CycleEstimated bool
	IP, MAC        string
	IP6            string // the session's IPv6 side (access.Session.IPv6Text), "" when none
	Since          string
	AlreadyOnline  bool
	Ticket         string
	ContinueURL    string
	ContinueHost   string
	// LowBalance: what is left after this cycle's fee will not cover the
	// next one; the page names the settlement date (CycleEnd), what is
	// left (AfterSettle) and links PaymentURL.
	LowBalance  bool
	AfterSettle access.Fen
	PaymentURL  string
	// Garden: the area takes students in arrears into the walled garden
	// and the balance does not cover the cycle: the session is restricted
	// to the portal, self-service and payment until a recharge.
	Garden bool
	// Plan is the running cycle's traffic against its allowance (plan.go).
	Plan *planView
	// Traffic is the session's traffic as the BAS last reported it in
	// accounting (Interim-Update), on the status page; nil before the
	// first report. The portal reads it from the session row rather than
	// asking the BAS (REQ_INFO): accounting is what the network centre
	// records, and every node can read it.
	Traffic *trafficView
}

// trafficView is a session's octets as the BAS counted them.
type trafficView struct {
	Up, Down, AsOf string
	// Split is the traffic by address family, for a session the BAS
	// reports IPv6 counters (or an IPv6 address) for.
	Split *familyTraffic
}

// familyTraffic is a session's IPv4 and IPv6 traffic apart.
type familyTraffic struct {
	Up4, Down4, Up6, Down6 string
}

func newFamilyTraffic(s *access.Session) *familyTraffic {
	if !s.HasIPv6() && s.InputOctets6 == 0 && s.OutputOctets6 == 0 {
		return nil
	}
	in4, out4 := s.IPv4Octets()
	return &familyTraffic{Up4: access.FormatBytes(in4), Down4: access.FormatBytes(out4),
		Up6: access.FormatBytes(s.InputOctets6), Down6: access.FormatBytes(s.OutputOctets6)}
}

func newTrafficView(s *access.Session, loc *time.Location) *trafficView {
	at := s.LastUpdateAt
	if at == 0 {
		at = s.StartedAt
	}
	if s.Status != access.SessionOnline || at == 0 {
		return nil
	}
	return &trafficView{Up: access.FormatBytes(s.InputOctets), Down: access.FormatBytes(s.OutputOctets), AsOf: formatTime(loc, at),
		Split: newFamilyTraffic(s)}
}

// refusalView is a refusal with the links that fix it.
type refusalView struct {
	Code access.Reason `json:",omitempty"`
	// The message and the fix in each language; the page shows one.
	MessageZH, MessageEN string `json:",omitempty"`
	FixZH, FixEN         string `json:",omitempty"`
	// Detail is the BAS's own text of a refusal, shown as it came.
	Detail         string         `json:",omitempty"`
	ResetURL       string         `json:",omitempty"`
	Arrears        bool           `json:",omitempty"`
	Balance, Fee   access.Fen     `json:",omitempty"`
	PaymentURL     string         `json:",omitempty"`
	DeviceLimit    bool           `json:",omitempty"`
	DesktopHintZH  string         `json:",omitempty"`
	DesktopHintEN  string         `json:",omitempty"`
	CountedPC      *countedPCView `json:",omitempty"` // DEVICE_LIMIT_PC: the signals that made it a PC
	SelfServiceURL string         `json:",omitempty"`
	Node           string         `json:",omitempty"` // set for "portal not response"
	StatusLink     bool           `json:",omitempty"` // the address is online already: its status page has the logout
	XRule          bool           `json:",omitempty"` // the typed password looks like an id card's tail with its X: say the rule
}

// timeLayout is how pages print a time: local, with its offset, so that
// no one has to guess the zone ("2026-12-03 14:05 +08:00").
const timeLayout = "2006-01-02 15:04"

func formatTime(loc *time.Location, ms int64) string {
	if ms == 0 {
		return ""
	}
	return access.FromMillis(ms).In(loc).Format(timeLayout + " -07:00")
}

// both is the message id in Chinese and in English, for texts built
// before the page knows its language.
func both(id string, args ...any) (zh, en string) {
	return zhP().T(id, args...), enP().T(id, args...)
}

// bothA is both as a pair.
func bothA(id string, args ...any) [2]string {
	zh, en := both(id, args...)
	return [2]string{zh, en}
}

func zhP() *i18n.Printer { return i18n.For(i18n.Chinese) }
func enP() *i18n.Printer { return i18n.For(i18n.English) }

func hiddenFields(q url.Values) []field {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]field, 0, len(keys))
	for _, k := range keys {
		out = append(out, field{k, q.Get(k)})
	}
	return out
}

// switchTo is target (a path and query, "/" when empty) with lang set.
func switchTo(target, lang string) string {
	if target == "" {
		target = "/"
	}
	u, err := url.Parse(target)
	if err != nil {
		return "/?lang=" + lang
	}
	q := u.Query()
	q.Set("lang", lang)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// retryURL is the login page for the same entry.
func retryURL(e entry) string {
	q := e.query()
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// render writes a page with the common headers: X-Portal-Node (set by the
// middleware), no caching, and a content security policy that allows the
// inline style and the one inline script of this response.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	if (r.Method == http.MethodPost || isSSOCallback(r)) && (name == pageRefused || name == pageMessage || name == pageLogin) {
		p.redirectResult(w, r, status, name, d)
		return
	}
	d.PasswordSaved = d.PasswordSaved || passwordSaved(r)
	var nb [12]byte
	_, _ = rand.Read(nb[:])
	d.ScriptNonce = base64.RawStdEncoding.EncodeToString(nb[:])
	d.Org, d.Node, d.Helpdesk = p.cfg.Organisation, p.cfg.NodeID, p.cfg.Helpdesk
	d.L = i18n.Request(w, r, r.TLS != nil)
	d.SwitchURL = d.L.SwitchURL(r)
	d.InitialX = initialXMessage(p.cfg.TrailingX)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A page that answers a form (a refusal, the online page) has no
		// address to load again: the switch goes to the login page of the
		// same entry, in the other language, which the cookie then keeps.
		d.SwitchURL = switchTo(d.RetryURL, d.L.Other())
	}
	if d.CSRF == "" {
		d.CSRF = p.csrfToken(w, r)
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		p.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", d.L.Lang())
	h.Add("Vary", "Accept-Language, Cookie")
	h.Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-%s'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'", d.ScriptNonce))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	p.m.pages.WithLabelValues(name).Inc()
}

// renderMessage shows a one-message page (bad request, expired form…).
// title and msg are catalogue ids.
func (p *Portal) renderMessage(w http.ResponseWriter, r *http.Request, status int, title, msg, retry string) {
	if retry == "" {
		retry = "/"
	}
	p.render(w, r, status, pageMessage, &pageData{Title: title, Message: msg, MessageClass: "warn", RetryURL: retry})
}

// onlineFor builds the account summary of a session or a fresh login.
// cycleWait bounds the wait for a new cycle on the online page.
const cycleWait = 500 * time.Millisecond

func (p *Portal) onlineFor(r *http.Request, a access.Account, areaName string, class access.Class, ip, mac string, since int64, fresh bool) *onlineView {
	v := &onlineView{Username: a.Username, Name: a.Name, Class: access.ClassMessage(class), Area: areaName, AreaZH: areaName, AreaEN: areaName, Balance: a.Balance, IP: ip, MAC: mac, Since: formatTime(p.cfg.Location, since)}
	if area, ok := p.areas[areaName]; ok {
		v.AreaZH, v.AreaEN = area.Names()
	}
	if area, ok := p.areas[areaName]; ok && area.Fee > 0 {
		fee := p.nextFee(r.Context(), a.ID, area)
		v.Fee = fee
		c, err := p.st.ActiveCycle(r.Context(), a.ID, areaName)
		if err != nil && area.Garden() && a.Balance < fee {
			// In arrears in a garden area: no cycle starts, nothing to wait for.
			v.Garden, v.PaymentURL = true, p.cfg.PaymentURL
			return v
		}
		// Right after a login, the BAS's Accounting-Start, which starts
		// the cycle, is on its way: give it a moment.
		for waited := time.Duration(0); err != nil && fresh && waited < cycleWait; waited += 50 * time.Millisecond {
			time.Sleep(50 * time.Millisecond)
			c, err = p.st.ActiveCycle(r.Context(), a.ID, areaName)
		}
		committed := fee
		switch {
		case err == nil:
			v.CycleEnd = formatTime(p.cfg.Location, c.EndsAt)
			committed = c.Fee
		default:
			// Accounting-Start, which starts the cycle, may not have
			// reached RADIUS yet: say when the new cycle will end.
			v.CycleEstimated = true
			v.CycleEnd = p.now().Add(area.Cycle).In(p.cfg.Location).Format(timeLayout + " -07:00")
		}
		// As self-service warns: the cycle's fee is charged at settlement,
		// and what is left must cover the next cycle or the network closes.
		if v.AfterSettle = a.Balance - committed; v.AfterSettle < fee {
			v.LowBalance, v.PaymentURL = true, p.cfg.PaymentURL
		}
	}
	v.Plan = p.planFor(r, a.ID, areaName)
	return v
}

func ticketFor(ip netip.Addr, nas, user string) ticket {
	return ticket{IP: ip.String(), NAS: nas, User: user}
}
