package access

import "time"

// Kinds of AcctRecord (Acct-Status-Type).
const (
	AcctStart   = "start"
	AcctInterim = "interim"
	AcctStop    = "stop"
	AcctOn      = "on"  // Accounting-On: the BAS (re)started
	AcctOff     = "off" // Accounting-Off: the BAS is going down
)

// Outcomes of an AcctRecord.
const (
	AcctStarted   = "started"   // a session went online (from its reservation, or recorded without one)
	AcctUpdated   = "updated"   // an Interim-Update was recorded
	AcctStopped   = "stopped"   // a session was closed (or its final counters recorded)
	AcctDuplicate = "duplicate" // nothing to do: already recorded
	AcctUnknown   = "unknown"   // names no session and no account: acknowledged, not recorded
	AcctLate      = "late"      // an Interim-Update for a session already closed
	AcctClosedAll = "closed_all"
)

// AcctRecord is one Accounting-Request.
type AcctRecord struct {
	Kind          string
	NAS           string
	Area          string
	AcctSessionID string
	// Correlation is the Class attribute the BAS echoed ("" if none).
	Correlation string
	// Username is User-Name as the BAS sent it: normally the account (the
	// Access-Accept's User-Name), sometimes the MAC.
	Username string
	MAC      string // canonical, or ""
	IP       string
	// NASPort is NAS-Port-Id, else NAS-Port's number ("" if neither);
	// a Start records it.
	NASPort        string
	InputOctets    int64 // with the gigawords
	OutputOctets   int64
	TerminateCause string
	// IPv6 is the request's IPv6 identifiers and counters.
	IPv6 IPv6Record
	// Fee and CycleLength are the area's billing: at a Start in a billed
	// area (Fee > 0) the account's cycle is started if none is active.
	Fee         Fen
	CycleLength time.Duration
	// Plans are the area's plans (docs/plans.md): when set, the cycle runs
	// under the account's chosen plan or the first, and Fee and
	// CycleLength are the first plan's.
	Plans []Plan
}

// AcctResult is what one AcctRecord did.
type AcctResult struct {
	Outcome   string
	SessionID int64
	AccountID int64
	// Closed counts the sessions an Accounting-On/Off closed, or the older
	// sessions of the same MAC a Start replaced.
	Closed       int64
	CycleStarted bool
	// Arrears: a Start in a billed area of an account with no active cycle
	// and a balance below the fee (it was let in elsewhere or before a
	// refund); billing's arrears check will find the session.
	Arrears bool
}

// Sessions: reserved (inserted with the Access-Accept) → online
// (Accounting-Start) → closed. Why a session was closed (close_reason):
const (
	CloseStop           = "stop"            // Accounting-Stop
	CloseStale          = "stale"           // no Interim-Update for 2.5 × the interval (the reaper)
	CloseReserveTimeout = "reserve_timeout" // no Accounting-Start in time (the reaper)
	CloseNASReboot      = "nas_reboot"      // Accounting-On/Off from its BAS
	CloseReplaced       = "replaced"        // the same MAC started a new session, or on_limit = replace_oldest
)

// StaleAfter is how long a live session may go unheard (no Interim-Update)
// before it counts as gone: two and a half interim intervals, so one lost
// or late update never closes a session that is still up. The reaper
// closes such sessions, billing leaves them to it, and the device limits
// and status pages do not count them.
func StaleAfter(interim time.Duration) time.Duration { return interim * 5 / 2 }

// UsageDay is an account's traffic on one campus-local day ("2026-12-02"),
// summed from its accounting (internal/store, usage_days).
type UsageDay struct {
	Day          string `db:"day" json:"day"`
	InputOctets  int64  `db:"input_octets" json:"input_octets"`
	OutputOctets int64  `db:"output_octets" json:"output_octets"`
}
