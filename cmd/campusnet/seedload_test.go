package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestUsersSeedLoad seeds the load-test population into a fresh database
// (--migrate), twice: each account has the password, the balance topped up
// once, and its PC bound.
func TestUsersSeedLoad(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	ctx := context.Background()
	for round := range 2 {
		var out, errb bytes.Buffer
		args := []string{"users", "seed-load", "--database", dsn, "--users", "3", "--user-prefix", "lt", "--password", "pw-lt", "--balance", "12.5"}
		if round == 0 {
			args = append(args, "--migrate")
		}
		if code := run(ctx, args, &out, &errb); code != 0 {
			t.Fatalf("round %d: exit %d: %s%s", round, code, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "seeded 3 accounts lt00001") {
			t.Fatalf("round %d: %s", round, out.String())
		}
	}
	st := storetest.Open(t, dsn)
	for i := 1; i <= 3; i++ {
		a, err := st.AccountByUsername(ctx, bas.LoadUser("lt", i))
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance != 1250 || a.Role != access.RoleStudent {
			t.Errorf("%s: balance %d role %s, want 1250 student", a.Username, a.Balance, a.Role)
		}
		if ok, err := identity.VerifyPassword(a.PasswordHash, "pw-lt"); err != nil || !ok {
			t.Errorf("%s: password does not verify: %v", a.Username, err)
		}
		devs, err := st.DevicesByAccount(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		mac, _ := access.NormalizeMAC(bas.LoadMAC(i))
		if len(devs) != 1 || devs[0].MAC != mac || devs[0].Class != access.ClassPC {
			t.Errorf("%s: devices %+v, want the PC %s", a.Username, devs, mac)
		}
	}
}
