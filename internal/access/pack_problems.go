package access

// Kinds of BillingProblem about packs (CheckBilling): every pack ledger row
// pays for one pack, and every pack is paid for by one ledger row.
const (
	// ProblemPackNoLedger: a pack without its ledger row (ledger_id names
	// no pack row of reference pack:<id>).
	ProblemPackNoLedger = "pack_without_ledger"
	// ProblemPackMismatch: the pack and its ledger row disagree (amount
	// other than −price, another account, ledger_id not linking back) or
	// the pack was charged more than once.
	ProblemPackMismatch = "pack_mismatch"
	// ProblemOrphanPackFee: a pack ledger row whose reference names no pack.
	ProblemOrphanPackFee = "pack_fee_without_pack"
)
