package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// serve runs the settlement job: a due cycle is charged without anyone
// running `billing settle`.
func TestServeRunsSettlement(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "c.db")
	s := startServer(t, testConfig(t, dsn, "[billing]\nsettle_interval = \"100ms\"\n"), false)
	ctx := context.Background()
	a, _, err := s.st.EnsureAccount(ctx, access.Account{Username: "s1", Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	err = s.st.InTx(ctx, func(tx *txT) error {
		acc, err := s.st.LockAccount(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if _, err := s.st.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, 5000, "t", "r1", ""); err != nil {
			return err
		}
		_, err = s.st.InsertCycleTx(ctx, tx, a.ID, "dorm", 2000, time.UnixMilli(now-1000), 999*time.Millisecond)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := s.st.LedgerByReference(ctx, access.LedgerCycleFee, access.CycleFeeReference(1))
		if err == nil {
			if e.Amount != -2000 || e.BalanceAfter != 3000 {
				t.Fatalf("fee row %+v", e)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the settlement job did not charge the due cycle within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
