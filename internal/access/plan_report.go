package access

import "strconv"

// PlanDay is the campus's traffic of one campus-local day under one plan:
// the usage_days of every account on that day, each attributed to the plan
// of the account's cycle that was active on it (internal/store,
// TrafficByPlan).
type PlanDay struct {
	Day string `db:"day"` // "2026-12-02"
	// Area and Plan are the cycle's; both "" when no cycle covered the
	// account's day (a free area, or between cycles). Plan "" with an
	// area is a cycle from before plans: the area's flat plan.
	Area string `db:"area"`
	Plan string `db:"plan"`
	// Bytes is both directions of every family, as usage_days counts them.
	Bytes int64 `db:"bytes"`
	// Accounts is how many accounts had traffic that day under the plan.
	Accounts int64 `db:"accounts"`
}

// FormatGB prints a plan's traffic in the units its allowance is given in
// (GB = 2^30 bytes, as the tariffs say "GB"): "12.3 GB", "512 MB", "8 KB".
func FormatGB(n int64) string {
	const mb, kb = GB >> 10, GB >> 20
	switch {
	case n >= GB:
		return strconv.FormatFloat(float64(n)/float64(GB), 'f', 1, 64) + " GB"
	case n >= mb:
		return strconv.FormatInt(n/mb, 10) + " MB"
	case n >= kb:
		return strconv.FormatInt(n/kb, 10) + " KB"
	default:
		return strconv.FormatInt(max(0, n), 10) + " B"
	}
}

// FormatKbps prints a rate given in kbit/s as the tariffs do, with 1024
// kbit/s to the Mbit/s (a slow rate of 2048 is "2 Mbit/s").
func FormatKbps(kbps int) string {
	switch {
	case kbps >= 1024 && kbps%1024 == 0:
		return strconv.Itoa(kbps/1024) + " Mbit/s"
	case kbps >= 1024:
		return strconv.FormatFloat(float64(kbps)/1024, 'f', 1, 64) + " Mbit/s"
	default:
		return strconv.Itoa(kbps) + " kbit/s"
	}
}
