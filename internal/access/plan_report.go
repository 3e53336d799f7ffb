package access

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
