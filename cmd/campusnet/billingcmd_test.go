package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

// The operator's money commands and billing verify, end to end through run().
func TestAccountAndBillingCommands(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dsn := storetest.DSN(t, kind)
			cfgPath := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(cfgPath, fmt.Appendf(nil, "[server]\ndatabase = %q\n", dsn), 0o600); err != nil {
				t.Fatal(err)
			}
			st := storetest.Open(t, dsn)
			ctx := context.Background()
			if _, _, err := st.EnsureAccount(ctx, access.Account{Username: "2026002", Name: "李四", Role: access.RoleStudent}); err != nil {
				t.Fatal(err)
			}
			cli := func(args ...string) (int, string, string) {
				var out, errb bytes.Buffer
				code := run(ctx, append(args, "--config", cfgPath), &out, &errb)
				return code, out.String(), errb.String()
			}
			steps := []struct {
				args     []string
				code     int
				contains string
			}{
				{[]string{"account", "recharge", "2026002", "12", "--reason", "cash at the counter", "--ref", "R-1", "--actor", "op1"}, 0, "recharge +12.00 yuan for 2026002: balance 12.00 yuan"},
				{[]string{"account", "recharge", "2026002", "12", "--reason", "cash at the counter", "--ref", "R-1", "--actor", "op1"}, 0, "already recorded"},
				{[]string{"account", "recharge", "2026002", "13", "--reason", "cash", "--ref", "R-1"}, 1, ""},
				{[]string{"account", "show", "2026002"}, 0, "账户欠费：余额 12.00 元，不足本周期 20.00 元"},
				{[]string{"account", "recharge", "2026002", "12.345", "--reason", "x"}, 1, ""},
				{[]string{"account", "recharge", "2026002", "-5", "--reason", "x"}, 1, ""},
				{[]string{"account", "recharge", "2026002", "5"}, 2, ""},
				{[]string{"account", "recharge", "nobody", "5", "--reason", "x"}, 1, ""},
				{[]string{"account", "adjust", "2026002", "+8.50", "--reason", "goodwill", "--actor", "op2"}, 0, "adjustment +8.50 yuan for 2026002: balance 20.50 yuan"},
				{[]string{"account", "adjust", "2026002", "-0.50", "--reason", "typo", "--actor", "op2"}, 0, "balance 20.00 yuan"},
				{[]string{"account", "refund", "2026002", "20.01", "--reason", "leaving"}, 1, ""},
				{[]string{"account", "show", "2026002"}, 0, "dorm       open: no cycle yet"},
				{[]string{"billing", "settle"}, 0, "settlement: due 0"},
				{[]string{"billing", "verify"}, 0, "the books are consistent"},
			}
			for _, s := range steps {
				code, out, errs := cli(s.args...)
				if code != s.code || !strings.Contains(out, s.contains) {
					t.Fatalf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s", s.args, code, s.code, out, errs)
				}
			}
			audit, _ := st.AuditLog(ctx, "2026002", 10)
			if len(audit) != 3 || audit[0].Actor != "op2" || audit[2].Actor != "op1" || audit[2].Reason != "cash at the counter" {
				t.Fatalf("audit: %+v", audit)
			}
			// Behind the ledger's back: verify lists it and exits 1.
			if _, err := st.DB().ExecContext(ctx, `UPDATE accounts SET balance_fen = balance_fen + 1`); err != nil {
				t.Fatal(err)
			}
			code, out, _ := cli("billing", "verify")
			if code != 1 || !strings.Contains(out, "2026002\tbalance_mismatch") {
				t.Fatalf("verify after tampering: %d %s", code, out)
			}
		})
	}
}
