package access

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
