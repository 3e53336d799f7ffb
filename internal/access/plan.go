package access

import "time"

// GB is the unit of traffic allowances, packs and per-GB charges: 2^30
// bytes, the unit operating systems and the campus tariffs show as "GB".
const GB int64 = 1 << 30

// What a plan does once a cycle's counted traffic passes its allowance and
// its packs (Plan.Over).
const (
	// OverSlow lowers every session of the account to the plan's slow rate.
	OverSlow = "slow"
	// OverBlock puts the sessions in the restricted profile (the walled
	// garden): the portal, self-service and the payment site only, so the
	// student can still buy a pack.
	OverBlock = "block"
	// OverPerGB charges PerGB from the balance for each GB begun past the
	// allowance; when the balance cannot pay the next GB the sessions go
	// to the restricted profile until a recharge pays it.
	OverPerGB = "per_gb"
)

// What an area does with a student whose balance does not cover the cycle
// (Area.Arrears).
const (
	// ArrearsReject refuses the login with ARREARS (the default).
	ArrearsReject = "reject"
	// ArrearsGarden accepts it into the restricted profile.
	ArrearsGarden = "garden"
)

// Profile is what the BAS applies to a session beyond the area's rules: the
// full rate, the slow rate of a plan past its allowance, or the restricted
// profile (walled garden).
type Profile string

// The profiles. ProfileFull is the empty string, the sessions' default.
const (
	ProfileFull       Profile = ""
	ProfileSlow       Profile = "slow"
	ProfileRestricted Profile = "restricted"
)

// Name is how metrics, logs and the audit log name the profile: "full"
// for the full rate (the empty Profile).
func (p Profile) Name() string {
	if p == ProfileFull {
		return "full"
	}
	return string(p)
}

// Plan is one [[plan]] of the configuration as the services see it: the flat
// cycle fee of the seed's dorm plan, plus optional traffic terms. An area
// without plans has one implicit flat plan named after the area, made of
// its own fee and cycle (Area.DefaultPlan).
type Plan struct {
	Name string
	// DisplayName and DisplayNameEN name the plan on pages; Name when not set.
	DisplayName, DisplayNameEN string
	// Fee is charged per Cycle from the balance, as the area's fee was.
	Fee   Fen
	Cycle time.Duration
	// Allowance is the counted traffic per cycle in bytes; 0 means no
	// allowance (a flat plan: traffic is counted and shown, never limited).
	Allowance int64
	// Over is OverSlow, OverBlock or OverPerGB ("" for a flat plan).
	Over string
	// SlowUpKbps and SlowDownKbps are the rate past the allowance (OverSlow).
	SlowUpKbps, SlowDownKbps int
	// PerGB is charged for each GB begun past the allowance (OverPerGB).
	PerGB Fen
	// CountIPv6 counts IPv6 traffic too; by default only IPv4 counts
	// (IPv6 is free, the usual campus policy).
	CountIPv6 bool
	// Packs are the traffic packs a student on this plan may buy.
	Packs []Pack
}

// Pack is one [[pack]]: extra traffic bought from the balance, used after
// the plan's allowance.
type Pack struct {
	Name                       string
	DisplayName, DisplayNameEN string
	// Bytes of traffic the pack adds.
	Bytes int64
	Price Fen
	// Lasts is how long the pack stays usable after it is bought; 0 means
	// until the end of the cycle it was bought in.
	Lasts time.Duration
}

// Limited reports whether the plan has traffic terms.
func (p Plan) Limited() bool { return p.Allowance > 0 }

// Names is the plan's name on pages in Chinese and in English.
func (p Plan) Names() (zh, en string) { return names(p.DisplayName, p.DisplayNameEN, p.Name) }

// Names is the pack's name on pages in Chinese and in English.
func (p Pack) Names() (zh, en string) { return names(p.DisplayName, p.DisplayNameEN, p.Name) }

func names(zh, en, name string) (string, string) {
	if zh == "" {
		zh = name
	}
	if en == "" {
		en = name
	}
	return zh, en
}

// Counted is the traffic of a session that counts against its plan: both
// directions, IPv4 only unless the plan counts IPv6 too.
func (p Plan) Counted(in, out, in6, out6 int64) int64 {
	if p.CountIPv6 {
		return max(0, in) + max(0, out)
	}
	return max(0, in-in6) + max(0, out-out6)
}

// PackByName returns the plan's pack of that name.
func (p Plan) PackByName(name string) (Pack, bool) {
	for _, k := range p.Packs {
		if k.Name == name {
			return k, true
		}
	}
	return Pack{}, false
}

// DefaultPlan is the plan a cycle uses when the student chose none: the
// area's first plan, or the implicit flat plan of its fee and cycle.
func (a Area) DefaultPlan() Plan {
	if len(a.Plans) > 0 {
		return a.Plans[0]
	}
	return Plan{Name: a.Name, DisplayName: a.DisplayName, DisplayNameEN: a.DisplayNameEN, Fee: a.Fee, Cycle: a.Cycle}
}

// PlanByName returns the area's plan of that name; "" and the area's own
// name (the implicit flat plan) return DefaultPlan when the area has no
// plans.
func (a Area) PlanByName(name string) (Plan, bool) {
	if len(a.Plans) == 0 {
		if name == "" || name == a.Name {
			return a.DefaultPlan(), true
		}
		return Plan{}, false
	}
	if name == "" {
		return a.Plans[0], true
	}
	for _, p := range a.Plans {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

// Garden reports whether the area accepts students in arrears into the
// restricted profile instead of refusing them.
func (a Area) Garden() bool { return a.Arrears == ArrearsGarden }

// PackHeld is a pack a student bought (the packs table).
type PackHeld struct {
	ID        int64  `db:"id"`
	AccountID int64  `db:"account_id"`
	Area      string `db:"area"`
	CycleID   int64  `db:"cycle_id"`
	Name      string `db:"name"`
	Bytes     int64  `db:"bytes"`
	Used      int64  `db:"used_bytes"`
	Price     Fen    `db:"price_fen"`
	BoughtAt  int64  `db:"bought_at"`
	ExpiresAt int64  `db:"expires_at"`
	LedgerID  int64  `db:"ledger_id"`
}

// Left is what remains of the pack.
func (p PackHeld) Left() int64 { return max(0, p.Bytes-p.Used) }

// PlanStatus is what a student (and the NOC) sees of an account's plan in
// an area: the running cycle's plan and traffic, the packs, and the plan
// the next cycle will use.
type PlanStatus struct {
	Area Area
	// Plan is the running cycle's plan, or the next cycle's when none runs.
	Plan Plan
	// Next is the plan the next cycle will use: the student's choice, or
	// the area's default. Chosen says whether it was chosen.
	Next   Plan
	Chosen bool
	// Cycle is the active cycle; nil when none runs.
	Cycle *Cycle
	// Packs are the unexpired packs of the area, earliest expiry first.
	Packs []PackHeld
}

// Limit is the traffic usable at the full rate in the running cycle: its
// allowance plus what its unexpired packs hold (0 when the plan has no
// allowance).
func (s PlanStatus) Limit() int64 {
	if s.Cycle == nil || s.Cycle.Allowance == 0 {
		return 0
	}
	n := s.Cycle.Allowance
	for _, p := range s.Packs {
		n += p.Bytes
	}
	return n
}

// Used is the running cycle's counted traffic.
func (s PlanStatus) Used() int64 {
	if s.Cycle == nil {
		return 0
	}
	return s.Cycle.Used
}

// Remaining is what is left of Limit, never below 0.
func (s PlanStatus) Remaining() int64 { return max(0, s.Limit()-s.Used()) }

// Percent is Used as a share of Limit, 0–100 (0 without an allowance).
func (s PlanStatus) Percent() int {
	l := s.Limit()
	if l == 0 {
		return 0
	}
	return int(min(100, s.Used()*100/l))
}
