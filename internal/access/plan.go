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
