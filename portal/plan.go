package portal

import (
	"context"
	"net/http"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// What the online and status pages and the RFC 8908 API show of a traffic
// plan (docs/plans.md): the running cycle's counted traffic against its
// allowance and packs, what happens at 100 %, and what the cycle's
// profile does now.

// planStore is the store's read of an account's plan (internal/store,
// plans.go).
type planStore interface {
	PlanStatus(ctx context.Context, accountID int64, area access.Area) (access.PlanStatus, error)
}

// planView is the plan block of the online and status pages; nil when
// the session's cycle has no allowance.
type planView struct {
	NameZH, NameEN    string
	Used, Limit, Left string // access.FormatGB
	Percent           int
	// Packs is what the unexpired packs add to the allowance ("" none).
	Packs string
	// Over is the plan's rule past the limit (access.OverSlow …); SlowDown
	// and SlowUp its slow rate, PerGB its price per GB begun.
	Over             string
	SlowDown, SlowUp string
	PerGB            access.Fen
	// Slow and Restricted: the cycle's profile now (past the limit).
	Slow, Restricted bool
	CycleEnd         string
	// PlansURL is self-service's plans page (packs and the next plan);
	// PaymentURL the recharge, for a per-GB plan the balance cannot pay.
	PlansURL, PaymentURL string
}

// SameRate reports whether the slow rate is the same both ways.
func (v *planView) SameRate() bool { return v.SlowDown == v.SlowUp }

// planFor reads the plan of the account's cycle in areaName.
func (p *Portal) planFor(r *http.Request, accountID int64, areaName string) *planView {
	st, ok := p.planStatus(r, accountID, areaName)
	if !ok {
		return nil
	}
	c, plan := st.Cycle, st.Plan
	v := &planView{Used: access.FormatGB(st.Used()), Limit: access.FormatGB(st.Limit()), Left: access.FormatGB(st.Remaining()),
		Percent: st.Percent(), Over: plan.Over, SlowDown: access.FormatKbps(plan.SlowDownKbps), SlowUp: access.FormatKbps(plan.SlowUpKbps),
		PerGB: plan.PerGB, Slow: c.Profile == access.ProfileSlow, Restricted: c.Profile == access.ProfileRestricted,
		CycleEnd: formatTime(p.cfg.Location, c.EndsAt), PaymentURL: p.cfg.PaymentURL}
	v.NameZH, v.NameEN = plan.Names()
	if extra := st.Limit() - c.Allowance; extra > 0 {
		v.Packs = access.FormatGB(extra)
	}
	if u := p.cfg.SelfServiceURL; u != "" {
		v.PlansURL = strings.TrimSuffix(u, "/") + "/plans"
	}
	return v
}

// planStatus is the account's plan in areaName when its running cycle has
// an allowance.
func (p *Portal) planStatus(r *http.Request, accountID int64, areaName string) (access.PlanStatus, bool) {
	area, ok := p.areas[areaName]
	if !ok || accountID == 0 {
		return access.PlanStatus{}, false
	}
	st, err := p.st.PlanStatus(r.Context(), accountID, area)
	if err != nil {
		p.log.Warn("plan status", "account", accountID, "area", areaName, "err", err)
		return st, false
	}
	if st.Cycle == nil || st.Limit() == 0 {
		return st, false
	}
	return st, true
}

// bytesRemaining is RFC 8908's bytes-remaining (section 5: "the number of
// bytes remaining, after which the client will be placed into a captive
// state"): what is left of the cycle's allowance and packs. For a slow
// plan it is what is left at the full rate.
func (p *Portal) bytesRemaining(r *http.Request, sess access.Session) (int64, bool) {
	st, ok := p.planStatus(r, sess.AccountID, sess.Area)
	if !ok {
		return 0, false
	}
	return st.Remaining(), true
}
