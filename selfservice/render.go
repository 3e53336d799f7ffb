package selfservice

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
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

func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name string, q *request, title string, data any) {
	t := s.pages[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	d := pageData{Title: title, Org: s.cfg.Organisation, Node: s.cfg.NodeID, Helpdesk: s.cfg.Helpdesk, Nav: name, Data: data}
	d.L = i18n.Request(w, r, s.cfg.SecureCookies)
	d.SwitchURL = d.L.SwitchURL(r)
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
			return access.FromMillis(ms).In(loc()).Format("2006-01-02 15:04")
		},
		"day": func(ms int64) string {
			if ms == 0 {
				return "—"
			}
			return access.FromMillis(ms).In(loc()).Format("2006-01-02")
		},
		"ago": func(ms int64) string {
			if ms == 0 {
				return "从未 / never"
			}
			return agoText(s.now().Sub(access.FromMillis(ms)))
		},
		"dur":   func(d time.Duration) string { return agoText(d) },
		"bytes": access.FormatBytes,
		"class": access.ClassLabel,
		"kind": func(k access.LedgerKind) string {
			switch k {
			case access.LedgerRecharge:
				return "充值 / recharge"
			case access.LedgerCycleFee:
				return "周期费用 / cycle fee"
			case access.LedgerRefund:
				return "退款 / refund"
			case access.LedgerAdjustment:
				return "调整 / adjustment"
			}
			return string(k)
		},
		"status": func(st access.SessionState) string {
			switch st {
			case access.SessionOnline:
				return "在线 / online"
			case access.SessionReserved:
				return "认证中 / starting"
			case access.SessionClosed:
				return "已下线 / closed"
			}
			return string(st)
		},
		"live":       live,
		"paymentURL": func() string { return s.cfg.PaymentURL },
		"bindLimit":  s.bindLimit,
	}
}

// agoText is a short bilingual duration ("5 分钟 / 5 min").
func agoText(d time.Duration) string {
	switch {
	case d < 0:
		return "刚刚 / just now"
	case d < time.Minute:
		return fmt.Sprintf("%d 秒前 / %ds ago", int(d.Seconds()), int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟前 / %d min ago", int(d.Minutes()), int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d 小时前 / %d h ago", int(d.Hours()), int(d.Hours()))
	}
	return fmt.Sprintf("%d 天前 / %d days ago", int(d.Hours()/24), int(d.Hours()/24))
}
