package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	layeh "layeh.com/radius"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// TestAccountResetPassword: the service desk's reset gives a temporary
// password that logs in once with must-change set, replaces the old one,
// is audited with the reason, and is refused without a reason or for an
// unknown account.
func TestAccountResetPassword(t *testing.T) {
	t.Parallel()
	c := newCLIEnv(t, "sqlite", nil)
	ctx := context.Background()
	hash, err := identity.HashPassword("old-password", identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.st.EnsureAccount(ctx, access.Account{Username: "2026007", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if code, out := c.run("account", "reset-password", "2026007"); code != 2 || !strings.Contains(out, "--reason is required") {
		t.Fatalf("without a reason: %d\n%s", code, out)
	}
	if code, out := c.run("account", "reset-password", "nobody", "--reason", "x"); code == 0 || !strings.Contains(out, "nobody") {
		t.Fatalf("unknown account: %d\n%s", code, out)
	}
	code, out := c.run("account", "reset-password", "2026007", "--reason", "forgot; card checked", "--actor", "desk1")
	m := regexp.MustCompile(`temporary password for 2026007: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("reset: %d\n%s", code, out)
	}
	local := identity.NewLocal(identity.FromAccounts(c.st), identity.InitialParams, nil)
	if _, err := local.Authenticate(ctx, "2026007", "old-password"); !errors.Is(err, identity.ErrBadCredentials) {
		t.Fatalf("the old password after the reset: %v", err)
	}
	p, err := local.Authenticate(ctx, "2026007", m[1])
	if err != nil || !p.MustChange {
		t.Fatalf("the temporary password: %+v %v (want a login that must change it)", p, err)
	}
	log, err := c.st.AuditLog(ctx, "2026007", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "account.reset_password" || log[0].Actor != "desk1" || log[0].Reason != "forgot; card checked" || strings.Contains(log[0].Detail, m[1]) {
		t.Fatalf("audit: %+v", log)
	}
}

// TestAccountDisableEnable: a disabled account is refused with its reason,
// --kick ends its live sessions at the BAS, and enable lets it back in.
func TestAccountDisableEnable(t *testing.T) {
	t.Parallel()
	c := newCLIEnv(t, "sqlite", func(*layeh.Packet) (bool, int) { return true, 0 })
	ctx := context.Background()
	hash, err := identity.HashPassword("password-1", identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.st.EnsureAccount(ctx, access.Account{Username: "2020001", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	aaa := store.NewAAA(c.st)
	defer aaa.Close()
	res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctStart, NAS: "dorm-bras-1", Area: "dorm",
		AcctSessionID: "G1", Username: "2020001", MAC: "02:00:00:00:00:07", IP: "10.0.0.7"}})
	if err != nil || res[0].SessionID == 0 {
		t.Fatalf("start: %+v %v", res, err)
	}
	if code, out := c.run("account", "disable", "2020001"); code != 2 {
		t.Fatalf("without a reason: %d\n%s", code, out)
	}
	code, out := c.run("account", "disable", "2020001", "--reason", "graduated 2026-07", "--kick", "--actor", "op1")
	if code != 0 || !strings.Contains(out, "disabled 2020001") || !strings.Contains(out, "disconnected") {
		t.Fatalf("disable --kick: %d\n%s", code, out)
	}
	if s, err := c.st.SessionByID(ctx, res[0].SessionID); err != nil || s.Status != access.SessionClosed {
		t.Fatalf("session after disable --kick: %+v", s)
	}
	local := identity.NewLocal(identity.FromAccounts(c.st), identity.InitialParams, nil)
	if _, err := local.Authenticate(ctx, "2020001", "password-1"); !errors.Is(err, identity.ErrDisabled) {
		t.Fatalf("login of a disabled account: %v", err)
	}
	if a, err := c.st.AccountByUsername(ctx, "2020001"); err != nil || !a.Disabled || a.DisabledReason != "graduated 2026-07" {
		t.Fatalf("account: %+v", a)
	}
	if code, out := c.run("account", "enable", "2020001", "--reason", "back for a master's"); code != 0 || !strings.Contains(out, "enabled 2020001") {
		t.Fatalf("enable: %d\n%s", code, out)
	}
	if _, err := local.Authenticate(ctx, "2020001", "password-1"); err != nil {
		t.Fatalf("login after enable: %v", err)
	}
	log, err := c.st.AuditLog(ctx, "2020001", 5)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "account.enable") || !strings.Contains(got, "account.disable") {
		t.Fatalf("audit actions: %s", got)
	}
}

// TestCLIArgumentsFromOutside: a user name or reason with invalid UTF-8 or
// a control character is refused before it reaches the database, on both
// databases (PostgreSQL answered "pq: invalid byte sequence"), with the
// bytes quoted so an escape sequence never reaches the terminal raw.
func TestCLIArgumentsFromOutside(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			c := newCLIEnv(t, kind, nil)
			ctx := context.Background()
			if _, _, err := c.st.EnsureAccount(ctx, access.Account{Username: "2026007"}); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"account", "show", "2026007\xff"},
				{"account", "show", "\x1b[2J2026007"},
				{"account", "show", "2026007\x00"},
				{"account", "reset-password", "2026007\xff", "--reason", "x"},
				{"account", "recharge", "2026007\xc0", "10", "--reason", "x"},
				{"account", "disable", "2026007", "--reason", "shared\xff"},
				{"account", "disable", "2026007", "--reason=shared\x00"},
				{"devices", "list", "2026007\xff"},
			} {
				code, out := c.run(args...)
				if code != 2 || !strings.Contains(out, "has control characters or is not UTF-8; nothing was done") {
					t.Fatalf("%q: %d\n%s", args, code, out)
				}
				if strings.ContainsAny(out, "\x00\x1b") || strings.Contains(out, "pq:") {
					t.Fatalf("%q: the answer carries the raw bytes or the database's error:\n%s", args, out)
				}
			}
			a, err := c.st.AccountByUsername(ctx, "2026007")
			if err != nil || a.Disabled {
				t.Fatalf("after the refused commands: %+v %v", a, err)
			}
			if code, out := c.run("account", "show", "2026007"); code != 0 {
				t.Fatalf("a clean name: %d\n%s", code, out)
			}
		})
	}
}
