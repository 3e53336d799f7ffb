package portal

import (
	"net/http"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestLoginNameWithNUL: a user name with a NUL byte or another control
// character is a wrong user name on both databases: 401 with the usual
// page on PostgreSQL too, which refuses NUL bytes in SQL text: the name
// is refused before identity, and the shared rate-limit buckets key such
// names by their hash.
func TestLoginNameWithNUL(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		h := newHarnessOn(t, st)
		h.account("u1", "password-1", 5000, false)
		for _, user := range []string{"u1\x00", "\x00", "u\x001", "u1\x1b", "u1\xff"} {
			p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.4.2", ""), user, "password-1", nil)
			if p.status != http.StatusUnauthorized {
				t.Fatalf("login as %q: %d\n%s", user, p.status, p.body)
			}
			mustContain(t, p, "用户名或密码错误")
			if strings.Contains(p.body, "\x00") {
				t.Fatalf("the page repeats the NUL byte")
			}
		}
		if logs := h.logs.String(); strings.Contains(logs, "ratelimit:") {
			t.Fatalf("a bad user name reached the shared buckets:\n%s", logs)
		}
		if p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.4.3", ""), "u1", "password-1", nil); p.status != http.StatusOK {
			t.Fatalf("the account itself: %d\n%s", p.status, p.body)
		}
	})
}
