package selfservice_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/roster"
)

// TestImportedClassLogsIn: a class imported with a passport holder, a
// residence-permit holder and an X id card logs in to self-service with
// its initial passwords, is sent to change them, and may not choose the
// document's tail or the id card's birth date.
func TestImportedClassLogsIn(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		text := "2026101,John Smith,E12345678,,student,passport\n" +
			"2026102,陈大文,810000199001000005,,学生,港澳台居民居住证\n" +
			"2026103,张三,44030520050609112X,,,居民身份证\n" +
			"2026104,李四,44030520050609112X,,,\n"
		p, err := roster.ParsePeople(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := roster.ImportPeople(context.Background(), e.st, p, roster.Options{Params: identity.InitialParams})
		if err != nil || rep.Created != 3 || len(rep.Bad) != 1 {
			t.Fatalf("import: %+v %v", rep, err)
		}
		for user, pw := range map[string]string{"2026101": "345678", "2026102": "000005", "2026103": "609112"} {
			c := e.client()
			r := c.submit("/login", "/login", url.Values{"username": {user}, "password": {pw}})
			if r.status != http.StatusSeeOther || r.location != "/password" {
				t.Fatalf("%s: login: %d %q %s", user, r.status, r.location, r.body)
			}
			mustChangeTo := func(np string, status int, want string) {
				t.Helper()
				r := c.submit("/password", "/password", url.Values{"old_password": {pw}, "new_password": {np}, "new_password2": {np}})
				if r.status != status || !strings.Contains(r.body, want) {
					t.Fatalf("%s → %s: %d, want %d with %q: %s", user, np, r.status, status, want, r.body)
				}
			}
			mustChangeTo("my-"+pw+"-net", http.StatusBadRequest, "证件号码的后六位或后八位")
			if user == "2026103" {
				mustChangeTo("born20050609", http.StatusBadRequest, "出生日期")
				mustChangeTo("x0609112Xx", http.StatusBadRequest, "后八位")
			}
			mustChangeTo("blue-kettle-17", http.StatusSeeOther, "")
		}
	})
}

// TestXRuleOnWrongPassword: the login page states the X rule with its
// example; a wrong six-character password ending in X gets it in the
// answer, for an existing and an unknown user alike.
func TestXRuleOnWrongPassword(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		e.account("2026001", "123456", "student", 0, true)
		c := e.client()
		if r := c.get("/login"); !strings.Contains(r.body, "44030520050609112X → 609112") || !strings.Contains(r.body, "去掉 X，再取后六位") {
			t.Fatalf("the login page lacks the X rule: %s", r.body)
		}
		for _, user := range []string{"2026001", "nobody"} {
			r := c.submit("/login", "/login", url.Values{"username": {user}, "password": {"09112X"}})
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `id="xrule"`) {
				t.Fatalf("%s: %d without the X rule: %s", user, r.status, r.body)
			}
			r = c.submit("/login", "/login", url.Values{"username": {user}, "password": {"654321"}})
			if strings.Contains(r.body, `id="xrule"`) {
				t.Fatalf("%s: the X rule without an X", user)
			}
		}
	})
}
