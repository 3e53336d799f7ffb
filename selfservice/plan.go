package selfservice

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

// What the NOC pages show of traffic plans (docs/plans.md): an account's
// plan, cycle usage, limit, packs and profile on its page, and the campus's
// daily traffic by plan on the NOC home.

// planStore is the store's reads of plans (internal/store plans.go and
// plan_report.go).
type planStore interface {
	PlanStatus(ctx context.Context, accountID int64, area access.Area) (access.PlanStatus, error)
	TrafficByPlan(ctx context.Context, from, to string) ([]access.PlanDay, error)
}

// nocPlan is one area's plan of an account, as the NOC reads it.
type nocPlan struct {
	Area string // display name in the page's language
	Plan string
	// Next is the next cycle's plan; Chosen whether the student chose it.
	Next   string
	Chosen bool
	Active bool // a cycle runs
	// Cycle's start and end, its counted traffic, the limit (allowance
	// plus packs), what is left; Limited is false for a flat plan.
	StartedAt, EndsAt int64
	Limited           bool
	Used, Allowance   string
	Limit, Left       string
	Percent           int
	// Profile is the catalogue id of the cycle's profile (full, slow,
	// restricted); Over that of the plan's rule past the limit.
	Profile, Over string
	Packs         []nocPack
}

// nocPack is an unexpired pack.
type nocPack struct {
	Name            string
	Size, Used      string
	BoughtAt, Until int64
}

// accountPlans is the account's plan in each billed area.
func (s *Service) accountPlans(ctx context.Context, l *i18n.Printer, acc access.Account) ([]nocPlan, error) {
	var out []nocPlan
	for _, a := range s.cfg.Areas {
		if !a.Billed() && len(a.Plans) == 0 {
			continue
		}
		st, err := s.st.PlanStatus(ctx, acc.ID, a)
		if err != nil {
			return nil, err
		}
		v := nocPlan{Area: l.Pick(a.Names()), Plan: l.Pick(st.Plan.Names()), Next: l.Pick(st.Next.Names()), Chosen: st.Chosen,
			Over: "selfservice.nocplan.over." + st.Plan.Over}
		if st.Plan.Over == "" {
			v.Over = "selfservice.nocplan.over.flat"
		}
		if c := st.Cycle; c != nil {
			v.Active, v.StartedAt, v.EndsAt = true, c.StartedAt, c.EndsAt
			v.Used, v.Limited = access.FormatGB(st.Used()), st.Limit() > 0
			v.Allowance, v.Limit, v.Left, v.Percent = access.FormatGB(c.Allowance), access.FormatGB(st.Limit()), access.FormatGB(st.Remaining()), st.Percent()
			v.Profile = "selfservice.nocplan.profile.full"
			if c.Profile == access.ProfileSlow || c.Profile == access.ProfileRestricted {
				v.Profile = "selfservice.nocplan.profile." + string(c.Profile)
			}
		}
		for _, p := range st.Packs {
			name := p.Name
			if k, ok := st.Plan.PackByName(p.Name); ok {
				name = l.Pick(k.Names())
			}
			v.Packs = append(v.Packs, nocPack{Name: name, Size: access.FormatGB(p.Bytes), Used: access.FormatGB(p.Used), BoughtAt: p.BoughtAt, Until: p.ExpiresAt})
		}
		out = append(out, v)
	}
	return out, nil
}

// planDays is the NOC home's window of traffic by plan: the last 30
// campus days, today included.
const planDays = 30

// trafficByPlan is the NOC home's chart of the campus's daily traffic by
// plan, one series per plan, the plan with the most first.
func (s *Service) trafficByPlan(ctx context.Context, l *i18n.Printer) (barChart, error) {
	loc := s.cfg.Location
	t := s.now().In(loc)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	first := today.AddDate(0, 0, -(planDays - 1))
	from, to := first.Format(time.DateOnly), today.Format(time.DateOnly)
	rows, err := s.st.TrafficByPlan(ctx, from, to)
	if err != nil {
		return barChart{}, err
	}
	index := map[string]int{}
	labels := make([]string, 0, planDays)
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(labels)
		labels = append(labels, d.Format("01-02"))
	}
	type key struct{ area, plan string }
	values, sums := map[key][]int64{}, map[key]int64{}
	for _, r := range rows {
		i, ok := index[r.Day]
		if !ok {
			continue
		}
		k := key{r.Area, r.Plan}
		if values[k] == nil {
			values[k] = make([]int64, len(labels))
		}
		values[k][i] += r.Bytes
		sums[k] += r.Bytes
	}
	keys := make([]key, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if sums[a] != sums[b] {
			if sums[a] > sums[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a.area+"\x00"+a.plan, b.area+"\x00"+b.plan)
	})
	c := barChart{ID: "chart-plans", Title: l.T("selfservice.nocplan.chart", from, to), Labels: labels, Format: access.FormatGB, Binary: true,
		Every: 5, Head: l.T("selfservice.chart.day"), TotalHead: l.T("selfservice.chart.total")}
	for _, k := range keys {
		c.Series = append(c.Series, chartSeries{Label: s.planLabel(l, k.area, k.plan), Values: values[k]})
	}
	c.Desc = l.T("selfservice.nocplan.chart_desc") + " " + peakText(l, c)
	return c, nil
}

// planLabel names a cycle's plan on the NOC home: its display name, the
// area's for a cycle from before plans, "no cycle" for traffic outside
// any.
func (s *Service) planLabel(l *i18n.Printer, area, plan string) string {
	if area == "" {
		return l.T("selfservice.nocplan.no_cycle")
	}
	for _, a := range s.cfg.Areas {
		if a.Name != area {
			continue
		}
		if plan == "" {
			return l.T("selfservice.nocplan.flat", l.Pick(a.Names()))
		}
		if p, ok := a.PlanByName(plan); ok {
			return l.Pick(p.Names())
		}
	}
	if plan == "" {
		return l.T("selfservice.nocplan.flat", area)
	}
	return plan
}
