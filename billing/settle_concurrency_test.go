package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// Environment of the helper process that TestSettle*Process tests start: the
// test binary itself, running TestHelperSettleProcess.
const (
	envHelperDSN   = "CAMPUSNET_BILLING_HELPER_DSN"
	envHelperNow   = "CAMPUSNET_BILLING_HELPER_NOW" // unix ms of the fake clock
	envHelperOut   = "CAMPUSNET_BILLING_HELPER_OUT" // where to write the report (JSON)
	envHelperCrash = "CAMPUSNET_BILLING_HELPER_CRASH"
	crashExit      = 3
)

// TestHelperSettleProcess is one settling node when started by the tests
// below; otherwise it does nothing.
func TestHelperSettleProcess(t *testing.T) {
	dsn := os.Getenv(envHelperDSN)
	if dsn == "" {
		t.Skip("helper process for the multi-process settlement tests")
	}
	ms, _ := strconv.ParseInt(os.Getenv(envHelperNow), 10, 64)
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.WithClock(func() time.Time { return time.UnixMilli(ms) }))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(st, Config{Areas: testAreas()})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(envHelperCrash) != "" {
		// Die between the fee's ledger row and the cycle update, with the
		// transaction open: the database must roll it back.
		svc.afterFee = func(int64) error { os.Exit(crashExit); return nil }
	}
	rep, err := svc.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(envHelperOut), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// settleProcess starts the test binary as a settling node.
func settleProcess(t *testing.T, dsn string, now time.Time, crash bool) (*exec.Cmd, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSettleProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelperDSN+"="+dsn, envHelperNow+"="+strconv.FormatInt(now.UnixMilli(), 10), envHelperOut+"="+out)
	if crash {
		cmd.Env = append(cmd.Env, envHelperCrash+"=1")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

func readReport(t *testing.T, path string) SettleReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r SettleReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

const nodeAccounts = 24

// population gives nodeAccounts students 50 yuan and a cycle each; every
// other one is online at the settlement date. It returns that date.
func population(t *testing.T, e *env) time.Time {
	t.Helper()
	for i := range nodeAccounts {
		a := e.account(fmt.Sprintf("n%03d", i), 5000)
		if _, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil || !started {
			t.Fatalf("start: %v %v", started, err)
		}
		if i%2 == 0 {
			e.online(a, "dorm", fmt.Sprintf("02:00:00:00:00:%02x", i), fmt.Sprintf("10.0.0.%d", i+1))
		}
	}
	e.clock.Advance(cycleLen + time.Minute)
	e.interim()
	return e.clock.Now()
}

// checkOnce asserts every cycle of the population was charged exactly once
// and the online half renewed.
func checkOnce(t *testing.T, e *env, settled int) {
	t.Helper()
	if settled != nodeAccounts {
		t.Errorf("nodes reported %d settlements, want %d", settled, nodeAccounts)
	}
	if n := e.countLedger(access.LedgerCycleFee); n != nodeAccounts {
		t.Errorf("%d fee rows, want %d", n, nodeAccounts)
	}
	for i := range nodeAccounts {
		u := fmt.Sprintf("n%03d", i)
		if b := e.balance(u); b != 3000 {
			t.Errorf("%s: balance %s, want 30.00", u, b)
		}
		a, err := e.st.AccountByUsername(e.ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := e.activeCycle(a, "dorm")
		if ok != (i%2 == 0) || (ok && c.StartedAt != access.Millis(t0.Add(cycleLen))) {
			t.Errorf("%s: active next cycle %v %+v", u, ok, c)
		}
	}
	e.verifyClean()
}

// Several nodes settle at once, each with its own database handle: every
// cycle is charged once.
func TestSettleConcurrentNodes(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dsn := storetest.DSN(t, kind)
			clock := storetest.NewClock(t0)
			e := newEnvOn(t, storetest.Open(t, dsn, store.WithClock(clock.Now)), clock)
			population(t, e)
			nodes := []*Service{e.svc}
			for range 2 {
				st := storetest.Open(t, dsn, store.WithClock(clock.Now))
				svc, err := New(st, Config{Areas: testAreas(), Batch: 5})
				if err != nil {
					t.Fatal(err)
				}
				nodes = append(nodes, svc)
			}
			var wg sync.WaitGroup
			reps := make([]SettleReport, len(nodes)*2)
			errs := make([]error, len(reps))
			for i := range reps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					reps[i], errs[i] = nodes[i%len(nodes)].Settle(e.ctx)
				}()
			}
			wg.Wait()
			settled := 0
			for i, r := range reps {
				if errs[i] != nil || r.Failed != 0 {
					t.Fatalf("node %d: %s %v", i, r, errs[i])
				}
				settled += r.Settled
			}
			checkOnce(t, e, settled)
		})
	}
}

// Two `billing settle` processes at once on one database.
func TestSettleTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dsn := storetest.DSN(t, kind)
			clock := storetest.NewClock(t0)
			e := newEnvOn(t, storetest.Open(t, dsn, store.WithClock(clock.Now)), clock)
			now := population(t, e)
			a, outA := settleProcess(t, dsn, now, false)
			b, outB := settleProcess(t, dsn, now, false)
			errA, errB := a.Wait(), b.Wait()
			if errA != nil || errB != nil {
				t.Fatalf("settle processes: %v, %v", errA, errB)
			}
			ra, rb := readReport(t, outA), readReport(t, outB)
			t.Logf("node A: %s; node B: %s", ra, rb)
			checkOnce(t, e, ra.Settled+rb.Settled)
		})
	}
}

// A crash between the fee's ledger row and the cycle update leaves nothing
// behind; the next run charges each cycle once.
func TestSettleCrash(t *testing.T) {
	t.Parallel()
	t.Run("failure inside the transaction", func(t *testing.T) {
		forKinds(t, func(t *testing.T, e *env) {
			population(t, e)
			boom := errors.New("injected crash")
			calls := 0
			e.svc.afterFee = func(int64) error {
				calls++
				if calls%3 == 1 {
					return boom
				}
				return nil
			}
			rep, err := e.svc.Settle(e.ctx)
			if !errors.Is(err, boom) || rep.Failed == 0 || rep.Settled+rep.Failed != nodeAccounts {
				t.Fatalf("crashing run: %s %v", rep, err)
			}
			if n := e.countLedger(access.LedgerCycleFee); n != rep.Settled {
				t.Fatalf("%d fee rows after %d settlements: the failed ones left rows", n, rep.Settled)
			}
			e.verifyClean()
			e.svc.afterFee = nil
			again := e.settle()
			if again.Settled != rep.Failed {
				t.Fatalf("recovery run: %s", again)
			}
			checkOnce(t, e, rep.Settled+again.Settled)
		})
	})
	t.Run("process killed", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts processes")
		}
		for _, kind := range storetest.Kinds {
			t.Run(kind, func(t *testing.T) {
				dsn := storetest.DSN(t, kind)
				clock := storetest.NewClock(t0)
				e := newEnvOn(t, storetest.Open(t, dsn, store.WithClock(clock.Now)), clock)
				now := population(t, e)
				p, _ := settleProcess(t, dsn, now, true)
				err := p.Wait()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != crashExit {
					t.Fatalf("the crashing node exited with %v", err)
				}
				if n := e.countLedger(access.LedgerCycleFee); n != 0 {
					t.Fatalf("%d fee rows survived the crash", n)
				}
				e.verifyClean()
				rep := e.settle()
				checkOnce(t, e, rep.Settled)
			})
		}
	})
}
