package selfservice_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/campusnet/campusnet/internal/access"
)

// TestNextStaysOnSite: the page after login is a path on this site,
// whatever next= says; a tab or a backslash that a browser would drop or
// read as a slash ("/\t/evil.example/" is "//evil.example/") sends the
// person home instead.
func TestNextStaysOnSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.account("student1", "student1-pass", "student", 0, false)
	for next, want := range map[string]string{
		"/devices":              "/devices",
		"/devices?tab=mine":     "/devices?tab=mine",
		"/\t/evil.example/":     "/",
		"/\t\t/evil.example/":   "/",
		"/\n/evil.example/":     "/",
		"\t//evil.example/":     "/",
		"/\\evil.example/":      "/",
		"//evil.example/":       "/",
		"///evil.example/":      "/",
		"https://evil.example/": "/",
		"/%2F/evil.example/":    "/",
		"/\x00/evil.example/":   "/",
		"javascript:alert(1)":   "/",
		"evil.example":          "/",
	} {
		c := e.client()
		page := c.get("/login?next=" + url.QueryEscape(next))
		if page.status != http.StatusOK {
			t.Fatalf("login page with next=%q: %d", next, page.status)
		}
		if !strings.Contains(page.body, `name="next" value="`+want+`"`) {
			t.Errorf("login page with next=%q keeps it in the form: %s", next, page.body)
		}
		r := c.submit("/login?next="+url.QueryEscape(next), "/login",
			url.Values{"username": {"student1"}, "password": {"student1-pass"}, "next": {next}})
		if r.status != http.StatusSeeOther || r.location != want {
			t.Errorf("login with next=%q: %d Location %q, want %q", next, r.status, r.location, want)
		}
	}
}

// TestTextFromOutside: a NUL byte, another control character or invalid
// UTF-8 in a user name, a search or a reason is answered with a clear 400
// (404 for a name in a path) on both databases, and changes nothing;
// PostgreSQL answered 500 and SQLite's search matched every account.
func TestTextFromOutside(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		e.account("admin", "admin-pass", "operator", 0, false)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		e.account("student2", "student2-pass", "student", 1000, false)
		sid := e.online(s1, "00:16:3e:01:02:03", "10.1.2.3", access.ClassPC)
		ctx := context.Background()

		for _, user := range []string{"student1\x00", "\x00", "stu\x00dent1", "student1\x01", "student1\xff", strings.Repeat("a", 200)} {
			// JSON carries no invalid UTF-8 (Marshal writes U+FFFD): the API
			// gets the others.
			if utf8.ValidString(user) {
				apiError(t, e.client().api(http.MethodPost, "/api/v1/login", map[string]string{"username": user, "password": "student1-pass"}), http.StatusBadRequest, "BAD_REQUEST")
			}
			r := e.client().submit("/login", "/login", url.Values{"username": {user}, "password": {"student1-pass"}})
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "用户名含有不允许的字符") {
				t.Fatalf("form login as %q: %d %s", user, r.status, r.body)
			}
			if strings.Contains(r.body, "\x00") {
				t.Fatalf("the page repeats the NUL byte")
			}
		}
		en := e.client()
		en.lang = "en"
		if r := en.submit("/login", "/login", url.Values{"username": {"student1\x00"}, "password": {"x"}}); r.status != http.StatusBadRequest ||
			!strings.Contains(r.body, "The user name contains characters that are not allowed") {
			t.Fatalf("English form login with a NUL: %d %s", r.status, r.body)
		}

		op := e.client()
		op.login("admin", "admin-pass")
		for _, q := range []string{"%00", "stu%00", "student1%00", "%01", "%ff", "%C2%85"} {
			r := op.get("/admin?q=" + q)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "搜索内容含有不允许的字符") {
				t.Fatalf("search %s: %d %s", q, r.status, r.body)
			}
			if strings.Contains(r.body, "student2") {
				t.Fatalf("search %s lists accounts: %s", q, r.body)
			}
		}
		if r := op.get("/admin?q=student"); r.status != http.StatusOK || !strings.Contains(r.body, "student2") {
			t.Fatalf("a plain search: %d %s", r.status, r.body)
		}
		for _, p := range []string{"/admin/users/%00", "/admin/users/student1%00", "/admin/users/%ff", "/admin/users/" + strings.Repeat("a", 300)} {
			if r := op.get(p); r.status != http.StatusNotFound {
				t.Fatalf("GET %s: %d %s", p, r.status, r.body)
			}
		}
		page := "/admin/users/student1"
		before := e.bas.requests()
		for _, reason := range []string{"abuse\x00", "abuse\x1b[2J", "abuse\xff"} {
			r := op.submit(page, page+"/kick", url.Values{"session": {strconv.FormatInt(sid, 10)}, "reason": {reason}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("kick with reason %q: %d %s", reason, r.status, r.body)
			}
			if r := op.get(r.location); !strings.Contains(r.body, "原因含有不允许的字符") {
				t.Fatalf("kick with reason %q: no error shown: %s", reason, r.body)
			}
		}
		if got := e.bas.requests(); len(got) != len(before) {
			t.Fatalf("a refused kick reached the BAS: %v", got)
		}
		if sess, err := e.st.SessionsByAccount(ctx, s1.ID, true); err != nil || len(sess) != 1 {
			t.Fatalf("sessions after refused kicks: %v %v", sess, err)
		}
	})
}
