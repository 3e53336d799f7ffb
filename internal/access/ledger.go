package access

import (
	"errors"
	"fmt"
)

// ErrDuplicate is returned by AddLedger when (kind, reference) was already recorded.
var ErrDuplicate = errors.New("store: already recorded")

// LedgerEntry is one ledger row.
type LedgerEntry struct {
	ID           int64      `db:"id"`
	AccountID    int64      `db:"account_id"`
	Kind         LedgerKind `db:"kind"`
	Amount       Fen        `db:"amount_fen"`
	BalanceAfter Fen        `db:"balance_after_fen"`
	Actor        string     `db:"actor"`
	Reference    string     `db:"reference"`
	Reason       string     `db:"reason"`
	CreatedAt    int64      `db:"created_at"`
}

// AuditEntry is one audit_log row.
type AuditEntry struct {
	ID     int64  `db:"id"`
	At     int64  `db:"at"`
	Actor  string `db:"actor"`
	Action string `db:"action"`
	Target string `db:"target"`
	Reason string `db:"reason"`
	Detail string `db:"detail"`
}

// PaymentOrder is one payment_orders row.
type PaymentOrder struct {
	OrderID    string `db:"order_id"`
	AccountID  int64  `db:"account_id"`
	Amount     Fen    `db:"amount_fen"`
	PaidAt     string `db:"paid_at"`
	LedgerID   int64  `db:"ledger_id"`
	ReceivedAt int64  `db:"received_at"`
}

// Cycle states.
const (
	CycleActive  = "active"
	CycleSettled = "settled"
)

// CycleFeeReference is the ledger reference of a cycle's fee: (cycle_fee,
// "cycle:<id>") is unique, so a cycle is charged at most once whatever the
// number of nodes settling.
func CycleFeeReference(cycleID int64) string { return fmt.Sprintf("cycle:%d", cycleID) }

// PackReference is the ledger reference of a pack's purchase.
func PackReference(packID int64) string { return fmt.Sprintf("pack:%d", packID) }

// TrafficFeeReference is the ledger reference of the n-th GB (from 1) a
// per-GB plan charged past a cycle's allowance: each is charged once.
func TrafficFeeReference(cycleID, n int64) string { return fmt.Sprintf("traffic:%d:%d", cycleID, n) }

// BillingSession is the part of a live session billing needs to disconnect it.
type BillingSession struct {
	ID     int64        `db:"id"`
	NAS    string       `db:"nas"`
	MAC    string       `db:"mac"`
	IP     string       `db:"ip"`
	Status SessionState `db:"status"`
}

// BillingProblem is one inconsistency found by CheckBilling.
type BillingProblem struct {
	AccountID int64
	Username  string
	Kind      string
	Detail    string
}

// UncoveredSession is an online session in a billed area whose account has
// no active cycle there.
type UncoveredSession struct {
	BillingSession
	AccountID int64  `db:"account_id"`
	Username  string `db:"username"`
	Balance   Fen    `db:"balance_fen"`
}

// Kinds of BillingProblem.
const (
	ProblemBalanceMismatch = "balance_mismatch" // balance != sum(ledger)
	ProblemLedgerChain     = "ledger_chain"     // a row's balance_after != previous + amount
	ProblemSettledNoFee    = "settled_without_fee"
	ProblemFeeMismatch     = "fee_mismatch" // the fee row's amount or id does not match the cycle
	ProblemActiveWithFee   = "active_cycle_charged"
	ProblemOrphanFee       = "fee_without_cycle"
	ProblemBelowCommitted  = "below_committed"
	// ProblemTrafficFee: a traffic_fee row names no cycle of its account,
	// a GB the cycle has not charged, or a cycle's rows and charged_gb
	// disagree.
	ProblemTrafficFee = "traffic_fee_mismatch"
	// ProblemCycleUsage: a cycle's counted traffic is negative, or its GB
	// charged past the allowance exceed what its traffic began.
	ProblemCycleUsage = "cycle_usage"
)
