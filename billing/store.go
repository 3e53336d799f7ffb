package billing

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Store is what billing needs of the database (*store.Store). Every change
// of money runs in InTx, under the account's row lock (LockAccount), so that
// several nodes settling and crediting at once give one node's answers.
type Store interface {
	Now() time.Time
	InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error

	AccountByUsername(ctx context.Context, username string) (access.Account, error)
	AccountByID(ctx context.Context, id int64) (access.Account, error)
	LockAccount(ctx context.Context, tx *sqlx.Tx, id int64) (access.Account, error)
	AuditTx(ctx context.Context, tx *sqlx.Tx, actor, action, target, reason, detail string) error

	AddLedgerTx(ctx context.Context, tx *sqlx.Tx, a *access.Account, kind access.LedgerKind, amount access.Fen, actor, reference, reason string) (access.LedgerEntry, error)
	LedgerByAccount(ctx context.Context, accountID int64, limit int) ([]access.LedgerEntry, error)
	LedgerByID(ctx context.Context, id int64) (access.LedgerEntry, error)
	CheckBilling(ctx context.Context) ([]access.BillingProblem, error)
	Committed(ctx context.Context, accountID int64) (access.Fen, error)
	CommittedTx(ctx context.Context, tx *sqlx.Tx, accountID int64) (access.Fen, error)

	ActiveCycle(ctx context.Context, accountID int64, area string) (access.Cycle, error)
	ActiveCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string) (access.Cycle, error)
	CyclesByAccount(ctx context.Context, accountID int64, limit int) ([]access.Cycle, error)
	CycleByIDTx(ctx context.Context, tx *sqlx.Tx, id int64) (access.Cycle, error)
	DueCycles(ctx context.Context, now time.Time, afterID int64, limit int) ([]access.Cycle, error)
	InsertCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, fee access.Fen, start time.Time, length time.Duration) (access.Cycle, error)
	MarkCycleSettledTx(ctx context.Context, tx *sqlx.Tx, id, ledgerID int64) error

	// Plans and the meter (docs/plans.md).
	NextPlan(ctx context.Context, accountID int64, area access.Area) (access.Plan, error)
	NextPlanTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area access.Area) (access.Plan, error)
	StartPlanCycleTx(ctx context.Context, tx *sqlx.Tx, acc *access.Account, area access.Area) (access.Cycle, bool, error)
	InsertPlanCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, p access.Plan, start time.Time) (access.Cycle, error)
	MeterCandidates(ctx context.Context, area string, closedSince int64) ([]access.MeterReading, error)
	MeterRevisits(ctx context.Context, area string) ([]int64, error)
	MeterReadingsTx(ctx context.Context, tx *sqlx.Tx, accountID int64, ids []int64) ([]access.MeterReading, error)
	MoveMeterTx(ctx context.Context, tx *sqlx.Tx, r access.MeterReading, in, out, in6, out6, at int64) (bool, error)
	MeterCyclesTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, from, to int64) ([]access.Cycle, error)
	CycleOverTx(ctx context.Context, tx *sqlx.Tx, cycleID int64) (int64, error)
	SetCycleMeterTx(ctx context.Context, tx *sqlx.Tx, c access.Cycle, over int64) error
	PacksTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, nowMs int64) ([]access.PackHeld, error)
	UsePackTx(ctx context.Context, tx *sqlx.Tx, packID, bytes int64) error
	MeterMark(ctx context.Context, name string) (int64, error)
	SetMeterMark(ctx context.Context, name string, at int64) error
	AddNotificationTx(ctx context.Context, tx *sqlx.Tx, event, key string, acc access.Account, data map[string]any) (bool, error)

	LiveSessionsInAreaTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, freshSince time.Time) ([]access.BillingSession, error)
	UncoveredSessions(ctx context.Context, area string, freshSince time.Time, limit int) ([]access.UncoveredSession, error)

	InsertPaymentOrderTx(ctx context.Context, tx *sqlx.Tx, o access.PaymentOrder) error
	PaymentOrderByID(ctx context.Context, orderID string) (access.PaymentOrder, error)

	// Plans and packs (plans.go).
	PlanStore
}
