package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius/radiusproto"
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
			audit, err := st.AuditLog(ctx, "2026002", 10)
			if err != nil {
				t.Fatal(err)
			}
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

// `billing settle` charges a due cycle and, the student being online without
// the balance for the next one, disconnects the session at its BAS.
func TestBillingSettleCommandDisconnects(t *testing.T) {
	t.Parallel()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	go radiusproto.ListenDisconnect(conn, []byte("testing123"), func(req *layeh.Packet) (bool, int) {
		got <- rfc2866.AcctSessionID_GetString(req)
		return true, 0
	})
	t.Cleanup(func() { conn.Close() })
	dsn := storetest.DSN(t, "sqlite")
	cfgPath := filepath.Join(t.TempDir(), "c.toml")
	cfgText := fmt.Sprintf(`[server]
database = %q
[[area]]
name = "dorm"
fee = 20.00
cycle = "720h"
[[nas]]
name = "bras-t"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
coa_port = %d
`, dsn, conn.LocalAddr().(*net.UDPAddr).Port)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, dsn)
	ctx := context.Background()
	a, _, err := st.EnsureAccount(ctx, access.Account{Username: "s1", Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	// 30 yuan, a dorm cycle that ended a second ago, and a session online.
	now := time.Now()
	err = st.InTx(ctx, func(tx *txT) error {
		acc, err := st.LockAccount(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if _, err := st.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, 3000, "t", "r1", ""); err != nil {
			return err
		}
		_, err = st.InsertCycleTx(ctx, tx, a.ID, "dorm", 2000, now.Add(-720*time.Hour), 720*time.Hour-time.Second)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	storetest.AddOnlineSession(t, st, storetest.OnlineSession{Account: a, NAS: "bras-t", Area: "dorm",
		MAC: "00:11:22:33:44:55", IP: "10.0.0.9", Class: access.ClassUnknown, AcctSessionID: "A-1", At: now})
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"billing", "settle", "--config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "settled 1 (20.00 yuan)") || !strings.Contains(out.String(), "arrears 1") || !strings.Contains(out.String(), "ack 1") {
		t.Fatalf("report: %s", out.String())
	}
	select {
	case id := <-got:
		if id != "A-1" {
			t.Fatalf("the BAS was asked to end %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Disconnect-Request reached the BAS")
	}
	s, err := st.SessionByID(ctx, 1)
	if err != nil || s.Status != access.SessionClosed || s.CloseReason != string(access.ReasonArrears) {
		t.Fatalf("session after settle: %+v %v", s, err)
	}
}
