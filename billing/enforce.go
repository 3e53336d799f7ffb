package billing

import "context"

// Enforcer applies to an account's online sessions the profile they should
// have (docs/plans.md, Enforcement): the full rate, a plan's slow rate, or
// the restricted profile of the walled garden, by CoA-Request (RFC 5176),
// with a Disconnect-Request where the BAS refuses the CoA. radius.Enforcer
// is the real one. Billing calls it after a commit that changed what an
// account should have (traffic past the allowance, a pack, a recharge, a
// new cycle); it must not block for long and retries on its own schedule.
type Enforcer interface {
	EnforceAccount(ctx context.Context, accountID int64)
}
