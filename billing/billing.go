package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
)

// Errors of the billing operations. Unknown accounts are reported with an
// error wrapping access.ErrNotFound; a reference recorded before wraps
// access.ErrDuplicate.
var (
	// ErrAmount: an amount that is zero, negative where it must be
	// positive, out of range, or not written as yuan with two decimals.
	ErrAmount = errors.New("billing: invalid amount")
	// ErrCommitted: the change would take the balance below the fee of
	// the account's active cycle, which is committed until settlement.
	ErrCommitted = errors.New("billing: the balance would fall below the committed cycle fee")
	// ErrUnknownArea: no area of that name in the configuration.
	ErrUnknownArea = errors.New("billing: unknown area")
)

// Actor is who the settlement job acts as, in the ledger and the audit log.
const Actor = "billing"

// Disconnector ends a session at its BAS (RFC 5176 Disconnect-Request) and
// audits it; radius.Disconnector is the real one.
type Disconnector interface {
	DisconnectSession(ctx context.Context, sessionID int64, actor, reason string) (access.DisconnectOutcome, error)
}

// Config configures a Service.
type Config struct {
	// Areas are the configured areas; those with Fee > 0 are billed,
	// each with its own fee and cycle length.
	Areas []access.Area
	// Now is the clock; nil means the store's clock (the store stamps the
	// ledger rows, so tests inject one clock there with the store's clock option).
	Now func() time.Time
	Log *slog.Logger
	// Registerer receives campusnet_settlements_total and friends; nil means none.
	Registerer prometheus.Registerer
	// Disconnector ends the sessions of students found in arrears at
	// settlement; nil means they cannot be sent (logged and counted).
	Disconnector Disconnector
	// StaleAfter: a session not heard of for this long is stale and is
	// neither renewed for nor disconnected (default access.StaleAfter of
	// access.DefaultInterimInterval).
	StaleAfter time.Duration
	// Enforcer applies changed profiles to online sessions (CoA); nil
	// means they are applied at the next login only.
	Enforcer Enforcer
	// LowBalanceNotice is how long before settlement a cycle whose
	// account cannot pay the next one gets its low_balance event ([billing]
	// low_balance_notice; 0 means DefaultLowBalanceNotice, < 0 none).
	LowBalanceNotice time.Duration
	// PaymentURL is where the arrears message sends a student.
	PaymentURL string
	// Batch is how many due cycles one query fetches (default 200).
	Batch int
	// Location is the campus time zone of the dates in ledger notes
	// ([server] timezone; default access.DefaultLocation).
	Location *time.Location
}

// Service runs the billing operations on a store.
type Service struct {
	st    Store
	cfg   Config
	log   *slog.Logger
	areas map[string]access.Area
	m     *metrics
	// settleMu keeps one Settle at a time in this process; other nodes
	// are kept apart by the database.
	settleMu sync.Mutex
	// meterMu keeps one Meter at a time in this process.
	meterMu sync.Mutex
	// afterFee, when set (tests), runs inside the settlement transaction
	// between the fee's ledger row and the cycle update: a crash there.
	afterFee func(cycleID int64) error
}

// New returns a Service.
func New(st Store, cfg Config) (*Service, error) {
	if st == nil {
		return nil, errors.New("billing: no store")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = st.Now
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = access.StaleAfter(access.DefaultInterimInterval)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Location == nil {
		cfg.Location = access.DefaultLocation()
	}
	s := &Service{st: st, cfg: cfg, log: cfg.Log, areas: map[string]access.Area{}}
	for _, a := range cfg.Areas {
		if a.Fee < 0 {
			return nil, fmt.Errorf("billing: area %s: negative fee", a.Name)
		}
		if a.Fee > 0 && a.Cycle <= 0 {
			return nil, fmt.Errorf("billing: area %s: billed without a cycle length", a.Name)
		}
		s.areas[a.Name] = a
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// billedArea returns the area when it is configured and charges a fee.
func (s *Service) billedArea(name string) (access.Area, bool) {
	a, ok := s.areas[name]
	return a, ok && a.Billed()
}

// Check applies billing's rule to a login of username in area: open when the
// area is free, the account has an active cycle there, or its balance covers
// the fee. When closed, the refusal is the ARREARS text naming the balance,
// the fee and where to recharge.
func (s *Service) Check(ctx context.Context, username, area string) (bool, access.Refusal, error) {
	a, ok := s.areas[area]
	if !ok {
		return false, access.Refusal{}, fmt.Errorf("%w: %q", ErrUnknownArea, area)
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return false, access.Refusal{}, err
	}
	if !a.Billed() {
		return true, access.Refusal{}, nil
	}
	_, err = s.st.ActiveCycle(ctx, acc.ID, area)
	if err != nil && !errors.Is(err, access.ErrNotFound) {
		return false, access.Refusal{}, err
	}
	active := err == nil
	fee := a.Fee
	if len(a.Plans) > 0 && !active {
		p, err := s.st.NextPlan(ctx, acc.ID, a)
		if err != nil {
			return false, access.Refusal{}, err
		}
		fee = p.Fee
	}
	if access.DormOpen(acc.Balance, fee, active) {
		return true, access.Refusal{}, nil
	}
	return false, access.RefuseArrears(acc.Balance, fee, s.cfg.PaymentURL), nil
}

// StartCycle is what RADIUS does at Accounting-Start in a billed area, in a
// transaction of its own: start a cycle when none is active and the balance
// covers the fee. started reports a new cycle; a zero Cycle means arrears.
func (s *Service) StartCycle(ctx context.Context, username, area string) (access.Cycle, bool, error) {
	a, ok := s.billedArea(area)
	if !ok {
		return access.Cycle{}, false, fmt.Errorf("%w: %q is not a billed area", ErrUnknownArea, area)
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return access.Cycle{}, false, err
	}
	var c access.Cycle
	var started bool
	err = s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		c, started, err = s.st.StartPlanCycleTx(ctx, tx, &acc, a)
		return err
	})
	return c, started, err
}

// Recharge credits amount (> 0) to username: cash at the counter or any
// operator-recorded payment. reference is unique among recharges (the same
// reference twice returns an error wrapping access.ErrDuplicate and changes
// nothing). The change is audited.
func (s *Service) Recharge(ctx context.Context, username string, amount access.Fen, actor, reference, reason string) (access.LedgerEntry, error) {
	if amount <= 0 {
		return access.LedgerEntry{}, fmt.Errorf("%w: a recharge must be more than 0.00 yuan, got %s", ErrAmount, amount)
	}
	e, err := s.change(ctx, access.LedgerRecharge, username, amount, actor, reference, reason, false)
	if err == nil {
		s.LiftGarden(ctx, e.AccountID)
	}
	return e, err
}

// Refund pays amount (> 0) back to the student: the balance goes down by
// amount, but never below the fee of an active cycle (ErrCommitted).
func (s *Service) Refund(ctx context.Context, username string, amount access.Fen, actor, reference, reason string) (access.LedgerEntry, error) {
	if amount <= 0 {
		return access.LedgerEntry{}, fmt.Errorf("%w: a refund must be more than 0.00 yuan, got %s", ErrAmount, amount)
	}
	return s.change(ctx, access.LedgerRefund, username, -amount, actor, reference, reason, false)
}

// Adjust corrects the balance by a signed amount. A negative adjustment may
// not cut into the committed cycle fee (ErrCommitted) unless force is set:
// that, and only that, can make a balance fall below it or below zero.
func (s *Service) Adjust(ctx context.Context, username string, amount access.Fen, actor, reference, reason string, force bool) (access.LedgerEntry, error) {
	if amount == 0 {
		return access.LedgerEntry{}, fmt.Errorf("%w: an adjustment of 0.00 yuan changes nothing", ErrAmount)
	}
	return s.change(ctx, access.LedgerAdjustment, username, amount, actor, reference, reason, force)
}

// change applies one operator change of balance in a transaction, with its
// ledger row and audit entry.
func (s *Service) change(ctx context.Context, kind access.LedgerKind, username string, amount access.Fen, actor, reference, reason string, force bool) (access.LedgerEntry, error) {
	if actor == "" || reference == "" {
		return access.LedgerEntry{}, fmt.Errorf("billing: %s needs an actor and a reference: %w", kind, access.ErrInvalid)
	}
	if amount > MaxYuanInput || amount < -MaxYuanInput {
		return access.LedgerEntry{}, fmt.Errorf("%w: %s yuan is out of range", ErrAmount, amount)
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return access.LedgerEntry{}, err
	}
	var e access.LedgerEntry
	err = s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		a, err := s.st.LockAccount(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		if amount < 0 {
			committed, err := s.st.CommittedTx(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			floor := max(committed, 0)
			if a.Balance+amount < floor && !force {
				return fmt.Errorf("%w: balance %s yuan minus %s yuan would leave %s yuan, below %s yuan committed to the current cycle",
					ErrCommitted, a.Balance, -amount, a.Balance+amount, floor)
			}
		}
		e, err = s.st.AddLedgerTx(ctx, tx, &a, kind, amount, actor, reference, reason)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("amount %s yuan, balance after %s yuan, reference %s, ledger #%d", amount, e.BalanceAfter, reference, e.ID)
		if force {
			detail += ", forced"
		}
		return s.st.AuditTx(ctx, tx, actor, "account."+string(kind), username, reason, detail)
	})
	if err != nil {
		return access.LedgerEntry{}, err
	}
	s.log.Info("balance changed", "kind", kind, "user", username, "amount", amount.String(), "balance", e.BalanceAfter.String(), "actor", actor, "reference", reference)
	return e, nil
}

// AccountSummary is what `campusnet account show` prints.
type AccountSummary struct {
	Account access.Account
	// Committed is the fee of the active cycles, not yet charged: a refund
	// may not touch it. Available = Balance − Committed.
	Committed access.Fen
	Available access.Fen
	// Active are the active cycles; EndsAt is the settlement date.
	Active []access.Cycle
	// Cycles are the newest cycles, active and settled.
	Cycles []access.Cycle
	// Ledger are the newest ledger rows, newest first.
	Ledger []access.LedgerEntry
	// Areas says, per billed area, whether a login there opens now.
	Areas []AreaStatus
}

// AreaStatus is billing's verdict for one billed area.
type AreaStatus struct {
	Area    string
	Fee     access.Fen
	Cycle   time.Duration
	Open    bool
	Refusal access.Refusal // set when !Open
}

// Show summarises an account's money: balance, committed fee, cycles with
// their settlement dates and the last ledger rows.
func (s *Service) Show(ctx context.Context, username string, ledgerRows int) (AccountSummary, error) {
	var sum AccountSummary
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return sum, err
	}
	sum.Account = acc
	if sum.Committed, err = s.st.Committed(ctx, acc.ID); err != nil {
		return sum, err
	}
	sum.Available = acc.Balance - sum.Committed
	if sum.Cycles, err = s.st.CyclesByAccount(ctx, acc.ID, 10); err != nil {
		return sum, err
	}
	for _, c := range sum.Cycles {
		if c.Status == access.CycleActive {
			sum.Active = append(sum.Active, c)
		}
	}
	if sum.Ledger, err = s.st.LedgerByAccount(ctx, acc.ID, ledgerRows); err != nil {
		return sum, err
	}
	for _, a := range s.cfg.Areas {
		if !a.Billed() {
			continue
		}
		active := false
		for _, c := range sum.Active {
			active = active || c.Area == a.Name
		}
		fee := a.Fee
		if len(a.Plans) > 0 {
			p, err := s.st.NextPlan(ctx, acc.ID, a)
			if err != nil {
				return sum, err
			}
			fee = p.Fee
		}
		st := AreaStatus{Area: a.Name, Fee: fee, Cycle: a.Cycle, Open: access.DormOpen(acc.Balance, fee, active)}
		if !st.Open {
			st.Refusal = access.RefuseArrears(acc.Balance, fee, s.cfg.PaymentURL)
		}
		sum.Areas = append(sum.Areas, st)
	}
	return sum, nil
}

// Problem is one inconsistency found by Verify.
type Problem = access.BillingProblem

// Verify checks every account's balance against its ledger, that every
// settled cycle has exactly one fee, and that no account is below its
// committed fee. No problems means the books are consistent.
func (s *Service) Verify(ctx context.Context) ([]Problem, error) {
	return s.st.CheckBilling(ctx)
}
