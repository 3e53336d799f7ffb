package access

import "time"

// EnforceTarget is an online session and the profile its account's cycle
// calls for.
type EnforceTarget struct {
	Session
	// HasCycle says the account has an active cycle in the session's
	// area; CyclePlan and CycleProfile are its plan and profile.
	HasCycle     bool    `db:"has_cycle"`
	CyclePlan    string  `db:"cycle_plan"`
	CycleProfile Profile `db:"cycle_profile"`
}

// EnforceFilter selects the sessions SessionsToEnforce returns.
type EnforceFilter struct {
	// AccountID limits them to one account (0: every account).
	AccountID int64
	// FreshSince: sessions heard of (Start or Interim) since then only.
	FreshSince time.Time
	// Garden are the areas whose sessions without a cycle are restricted;
	// the sessions of other areas without one should be at the full rate.
	Garden []string
	// AfterID and Limit page through the sessions in id order (Limit 0: 500).
	AfterID int64
	Limit   int
}
