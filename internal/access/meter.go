package access

import "fmt"

// MeterReading is one session as the meter reads it (docs/plans.md,
// Counting): its counters now and its watermark, what the meter already
// added to a cycle. Has says the session has a watermark; without one the
// previous reading is zero counters at the session's start.
type MeterReading struct {
	SessionID int64  `db:"id"`
	AccountID int64  `db:"account_id"`
	Status    string `db:"status"`
	// In, Out are the session's totals with their gigawords, In6 and Out6
	// their IPv6 part.
	In        int64 `db:"input_octets"`
	Out       int64 `db:"output_octets"`
	In6       int64 `db:"input_octets6"`
	Out6      int64 `db:"output_octets6"`
	StartedAt int64 `db:"started_at"`
	At        int64 `db:"last_update_at"`
	// The watermark.
	Has   bool  `db:"has_mark"`
	WIn   int64 `db:"m_in"`
	WOut  int64 `db:"m_out"`
	WIn6  int64 `db:"m_in6"`
	WOut6 int64 `db:"m_out6"`
	WAt   int64 `db:"m_at"`
}

// MeterPack is a pack as the meter uses it: what is left of it until it
// expires.
type MeterPack struct {
	ID        int64 `db:"id"`
	Bytes     int64 `db:"bytes"`
	Used      int64 `db:"used_bytes"`
	ExpiresAt int64 `db:"expires_at"`
}

// Left is the pack's unused bytes.
func (p MeterPack) Left() int64 { return max(0, p.Bytes-p.Used) }

// TrafficFeeReference is the reference of the ledger row charging the n-th
// GB (from 1) past the allowance of a cycle: unique, so every GB is charged
// once whichever node meters it.
func TrafficFeeReference(cycleID, n int64) string { return fmt.Sprintf("traffic:%d:%d", cycleID, n) }
