package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestLoginStorm is a small login storm through the whole server: more
// password logins at once (RADIUS PAP) than one hashing worker can check
// within the BAS's retry window, and a MAC authentication in the middle of
// them. No correct password may be refused — a login that cannot be
// checked in time gets no answer, and the BAS's next try (here, the
// student's next login) is accepted — and the MAC authentication is
// answered.
func TestLoginStorm(t *testing.T) {
	kinds := []string{"sqlite"}
	if storetest.InCI() || hasPostgres() {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) { testLoginStorm(t, kind) })
	}
}

func testLoginStorm(t *testing.T, kind string) {
	cfg := testConfig(t, storetest.DSN(t, kind), `
[identity]
hash_workers = 1
[[area]]
name = "dorm"
max_pc = 1
[[nas]]
name = "storm-bras"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
`)
	cfg.Radius.RetryWindow.Duration = 3 * time.Second // the BAS below: 3 tries 1 s apart
	s := startServer(t, cfg, false)
	ctx := context.Background()

	// One hash takes 10–30 ms, or ten times that with -race: more than
	// one worker can hash in the window (less the policy's margin).
	const logins = 40
	hash, err := identity.HashPassword("storm-pass", identity.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= logins; i++ {
		if _, _, err := s.st.EnsureAccount(ctx, access.Account{Username: bas.LoadUser("storm", i), Role: access.RoleStudent, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	macUser, _, err := s.st.EnsureAccount(ctx, access.Account{Username: "mac-owner", Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	const mac = "02:aa:00:00:00:01"
	if _, err := s.st.BindDevice(ctx, macUser.ID, mac, access.ClassPC, "noc", "", 0); err != nil {
		t.Fatal(err)
	}

	b := bas.New(bas.Config{NASIP: netip.MustParseAddr("127.0.0.1"), Secret: "testing123", AuthAddr: s.Addr("radius-auth"),
		AcctAddr: s.Addr("radius-acct"), Retry: time.Second, MaxTries: 3})
	defer b.Close()
	pap := func(i int) (bas.AuthResult, error) {
		return b.Authenticate(ctx, bas.AuthRequest{UserName: bas.LoadUser("storm", i), Password: "storm-pass",
			MAC: fmt.Sprintf("02:bb:00:00:%02x:%02x", i>>8, i&0xff), UserIP: netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})})
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var unanswered []int
	accepted := 0
	for i := 1; i <= logins; i++ {
		wg.Go(func() {
			r, err := pap(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				unanswered = append(unanswered, i)
			case !r.Accepted:
				t.Errorf("%s: correct password refused during the storm: %q", bas.LoadUser("storm", i), r.ReplyMessage)
			default:
				accepted++
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // the storm is under way
	r, err := b.Authenticate(ctx, bas.AuthRequest{MAC: mac, UserIP: netip.MustParseAddr("10.9.255.1")})
	if err != nil {
		t.Errorf("MAC authentication during the storm got no answer: %v", err)
	} else if !r.Accepted {
		t.Errorf("MAC authentication during the storm refused: %q", r.ReplyMessage)
	}
	wg.Wait()
	st := s.local.Stage().Stats()
	t.Logf("storm: %d accepted, %d unanswered; stage %+v", accepted, len(unanswered), st)
	if accepted == 0 {
		t.Error("no password login was accepted during the storm")
	}
	// A retransmission of a login being checked joins it (the reply
	// cache): never a second hash of the same request.
	if st.Hashed > logins {
		t.Errorf("%d hashes for %d logins: a retransmission started a hash of its own", st.Hashed, logins)
	}
	if len(unanswered) > 0 && st.Late+st.QueueFull == 0 {
		t.Error("logins went unanswered but the hashing stage refused none")
	}
	// The students whose login got no answer try again, one by one: accepted.
	for _, i := range unanswered {
		r, err := pap(i)
		if err != nil || !r.Accepted {
			t.Errorf("%s after the storm: %+v, %v", bas.LoadUser("storm", i), r, err)
		}
	}
}
