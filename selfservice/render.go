package selfservice

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// pageData is what every page template gets; Data is the page's own.
type pageData struct {
	// L prints the page's messages in the request's language (i18n);
	// SwitchURL is this page in the other language.
	L          *i18n.Printer
	SwitchURL  string
	Title      string
	Org        string
	Node       string
	Helpdesk   string
	Nav        string
	User       string
	Name       string
	Admin      bool
	CSRF       string
	MustChange bool
	Flash      *flash
	Data       any
}

// parsePages parses every page with the shared layout.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("selfservice: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes page name; title is a catalogue id (or a name, such as a
// user's, shown as it is).
func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name string, q *request, title string, data any) {
	t := s.pages[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	d := pageData{Title: title, Org: s.cfg.Organisation, Node: s.cfg.NodeID, Helpdesk: s.cfg.Helpdesk, Nav: name, Data: data}
	d.L = i18n.Request(w, r, s.cfg.SecureCookies)
	d.SwitchURL = d.L.SwitchURL(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A page that answers a form has no address to load again.
		d.SwitchURL = switchPage(r.URL.Path) + "?lang=" + d.L.Other()
	}
	if q != nil && q.acc.ID != 0 {
		d.User, d.Name, d.Admin, d.CSRF, d.MustChange = q.acc.Username, q.acc.Name, q.admin, q.csrf, s.mustChange(q.acc)
	}
	if r.Method == http.MethodGet {
		d.Flash = s.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		s.log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", d.L.Lang())
	w.Header().Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Service) serveCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("static/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

func (s *Service) funcs() template.FuncMap {
	loc := func() *time.Location { return s.cfg.Location }
	return template.FuncMap{
		"yuan": func(f access.Fen) string { return f.String() },
		"neg":  func(f access.Fen) bool { return f < 0 },
		"when": func(ms int64) string {
			if ms == 0 {
				return "—"
			}
			// With its offset, so that no one guesses the zone.
			return access.FromMillis(ms).In(loc()).Format("2006-01-02 15:04 -07:00")
		},
		"day": func(ms int64) string {
			if ms == 0 {
				return "—"
			}
			return access.FromMillis(ms).In(loc()).Format("2006-01-02")
		},
		"ago": func(l *i18n.Printer, ms int64) string {
			if ms == 0 {
				return l.T("selfservice.ago.never")
			}
			return agoText(l, s.now().Sub(access.FromMillis(ms)))
		},
		"bytes": access.FormatBytes,
		// class, kind and status are catalogue ids: {{$.L.T (kind .Kind)}}.
		"class": access.ClassMessage,
		"kind":  kindMessage,
		"status": func(st access.SessionState) string {
			switch st {
			case access.SessionOnline:
				return "selfservice.status.online"
			case access.SessionReserved:
				return "selfservice.status.reserved"
			case access.SessionClosed:
				return "selfservice.status.closed"
			}
			return string(st)
		},
		"area":       s.areaName,
		"match":      matchMessage,
		"one":        one,
		"live":       live,
		"paymentURL": func() string { return s.cfg.PaymentURL },
		"bindLimit":  s.bindLimit,
		"planCtx":    planCtx,
	}
}

// kindMessage is the catalogue id of a ledger kind's label.
func kindMessage(k access.LedgerKind) string {
	switch k {
	case access.LedgerRecharge:
		return "selfservice.kind.recharge"
	case access.LedgerCycleFee:
		return "selfservice.kind.cycle_fee"
	case access.LedgerRefund:
		return "selfservice.kind.refund"
	case access.LedgerAdjustment:
		return "selfservice.kind.adjustment"
	}
	return string(k)
}

// agoText is a short duration in the page's language ("5 分钟前").
func agoText(l *i18n.Printer, d time.Duration) string {
	switch {
	case d < 0:
		return l.T("selfservice.ago.just_now")
	case d < time.Minute:
		return l.T("selfservice.ago.seconds", int(d.Seconds()))
	case d < time.Hour:
		return l.T("selfservice.ago.minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.T("selfservice.ago.hours", int(d.Hours()))
	}
	return l.T("selfservice.ago.days", int(d.Hours()/24))
}

// areaName is an area's display name in the page's language; a name no
// [[area]] has is shown as it is.
func (s *Service) areaName(l *i18n.Printer, name string) string {
	for _, a := range s.cfg.Areas {
		if a.Name == name {
			return l.Pick(a.Names())
		}
	}
	return name
}

// one is the page's language of a text built in Go for both languages:
// the flashes, errors, warnings and notes, which are also the JSON API's
// bilingual messages. Each line is one "中文 / English" pair
// (access.SplitBilingual); a line without one is shown as it is.
func one(l *i18n.Printer, text string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		zh, en := access.SplitBilingual(line)
		lines[i] = l.Pick(zh, en)
	}
	return strings.Join(lines, " ")
}

// switchPage is the page the language switch of a form's answer loads:
// the form's own page (login, password, the import and a user's NOC
// page), else the overview.
func switchPage(p string) string {
	switch {
	case p == "/login" || p == "/password":
		return p
	case strings.HasPrefix(p, "/admin/import"):
		return "/admin/import"
	case strings.HasPrefix(p, "/admin/users/"):
		if parts := strings.SplitN(p, "/", 5); len(parts) >= 4 {
			return "/admin/users/" + url.PathEscape(parts[3])
		}
		return "/admin"
	}
	return "/"
}

// pair is catalogue message id in both languages as one "中文 / English"
// line, for a flash: it travels in a cookie to the next page, which shows
// its own language's half (one).
func pair(id string, args ...any) string {
	return i18n.For(i18n.Chinese).T(id, args...) + " / " + i18n.For(i18n.English).T(id, args...)
}
