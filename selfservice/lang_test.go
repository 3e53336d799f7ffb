package selfservice_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
)

// TestPagesSpeakOneLanguage: a student who states no language reads the
// ledger, the overview and the devices in Chinese only; one whose browser
// asks for English reads them in English only (the node footer, the 中文
// switch and names aside): the ledger's kind, the payment platform's note
// with its local time, the area's display name and the "ago" times.
func TestPagesSpeakOneLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	hash, err := identity.HashPassword("student9-pass", identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	const paid = "2026-12-03 14:05 +08:00"
	a, _, err := e.st.OpenAccount(context.Background(), access.Account{Username: "student9", Name: "Student Nine", Role: access.RoleStudent, PasswordHash: hash},
		5000, "payment", "order:P-9", "缴费平台充值，付款时间 "+paid+" / payment platform, paid at "+paid)
	if err != nil {
		t.Fatal(err)
	}
	e.bind(a, "3c:22:fb:7a:10:09", "pc")
	e.account("admin", "admin-pass", "operator", 0, false)
	han := regexp.MustCompile(`\p{Han}`)
	english := regexp.MustCompile(`[A-Za-z]{2,}[,:;]?\s+[A-Za-z]{2,}[,:;]?\s+[A-Za-z]{2,}`)
	// body is the page's main text, without tags, the switch and the footer.
	tags := regexp.MustCompile(`<code>[^<]*</code>|<[^>]*>`) // code: commands and MACs
	body := func(page string) string {
		if i := strings.Index(page, "<main>"); i >= 0 {
			page = page[i:]
		}
		if i := strings.Index(page, "</main>"); i >= 0 {
			page = page[:i]
		}
		page = strings.Replace(page, ">中文</a>", "></a>", 1)
		page = strings.Replace(page, ">English</a>", "></a>", 1)
		return html.UnescapeString(tags.ReplaceAllString(page, " "))
	}
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"", []string{"账单", "付款时间 " + paid, "充值"}},
		{"en-US,en;q=0.9", []string{"Ledger", "payment platform, paid at " + paid, "recharge"}},
	} {
		title := map[string]string{"": "<title>账单 · ", "en-US,en;q=0.9": "<title>Ledger · "}[tt.lang]
		c := e.client()
		c.lang = tt.lang
		c.login("student9", "student9-pass")
		noc := e.client()
		noc.lang = tt.lang
		noc.login("admin", "admin-pass")
		for _, path := range []string{"/ledger", "/", "/devices", "/why", "/password",
			"noc:/admin", "noc:/admin?q=student9", "noc:/admin/users/student9", "noc:/admin/nodes", "noc:/admin/nas", "noc:/admin/import"} {
			cl := c
			if p, ok := strings.CutPrefix(path, "noc:"); ok {
				cl, path = noc, p
			}
			r := cl.get(path)
			text := body(r.body)
			if path == "/ledger" && !strings.Contains(r.body, title) {
				t.Errorf("%q %s: the title is not %q", tt.lang, path, title)
			}
			if path == "/ledger" {
				for _, w := range tt.want {
					if !strings.Contains(text, w) {
						t.Errorf("%q %s lacks %q:\n%s", tt.lang, path, w, text)
					}
				}
			}
			if tt.lang == "" {
				if m := english.FindString(text); m != "" {
					t.Errorf("Chinese %s has English %q:\n%s", path, m, text)
				}
			} else if m := han.FindString(strings.ReplaceAll(text, "网络信息中心-X", "")); m != "" { // the footer a student quotes
				t.Errorf("English %s has Chinese %q:\n%s", path, m, text)
			}
		}
	}
}
