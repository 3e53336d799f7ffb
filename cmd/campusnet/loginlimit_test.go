package main

import (
	"net/http"
	"testing"
)

// TestLoginLimitSharedByPortalAndSelfService: the portal and the
// self-service site of a served campusnet draw on one failed-login budget
// per account (the store's, shared with every node): ten wrong passwords at
// the portal lock the account at the self-service API too, right password
// or not, while another account still logs in there.
func TestLoginLimitSharedByPortalAndSelfService(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "sqlite")
	b := e.browser("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
	for i := range 10 {
		if st, body := b.login("dorm-bras-1", "10.0.7.7", "", "student2", "not-the-password"); st == http.StatusTooManyRequests {
			t.Fatalf("wrong password %d of 10 at the portal: %d\n%s", i+1, st, body)
		}
	}
	app := newSSClient(t)
	st, out := app.call(http.MethodPost, e.s.Addr("selfservice"), "/api/v1/login", map[string]string{"username": "student2", "password": "student2-pass"}, nil)
	if st != http.StatusTooManyRequests {
		t.Fatalf("self-service login after 10 wrong passwords at the portal: %d %v, want 429", st, out)
	}
	st, out = newSSClient(t).call(http.MethodPost, e.s.Addr("selfservice"), "/api/v1/login", map[string]string{"username": "student1", "password": "student1-pass"}, nil)
	if st != http.StatusOK {
		t.Fatalf("another account's self-service login: %d %v", st, out)
	}
}
