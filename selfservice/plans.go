package selfservice

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

// A student's plan and packs (docs/plans.md): the usage on the overview,
// the plans page with its choice for the next cycle and its packs, and the
// "why is it slow" answer on the why page.

// Plans is billing's plan operations (billing.Service has these methods):
// the status of an account's plan in an area, a choice for the next cycle
// (changed = false when it was the choice already) and a pack bought once
// per reference (the same reference again returns the pack it bought and
// an error wrapping access.ErrDuplicate).
type Plans interface {
	PlanStatus(ctx context.Context, username, area string) (access.PlanStatus, error)
	ChoosePlan(ctx context.Context, username, area, plan, actor, reason string) (bool, error)
	BuyPack(ctx context.Context, username, area, pack, actor, reference string) (access.PackHeld, access.LedgerEntry, error)
}

// planOption is one plan of an area as the plans page lists it.
type planOption struct {
	access.Plan
	NameZH, NameEN string
	SlowRate       string // the slow rate, "2 Mbit/s" (OverSlow)
	Running, Next  bool   // the running cycle's plan; the next cycle's
}

// packOffer is a pack the running cycle's plan offers, with what buying it
// leaves.
type packOffer struct {
	access.Pack
	NameZH, NameEN string
	After          access.Fen // balance after the purchase
	LastsDays      int        // Lasts in days begun (0: until the cycle ends)
	Affordable     bool       // After still holds the committed cycle fees
}

// heldPack is a bought pack with its name on pages.
type heldPack struct {
	access.PackHeld
	NameZH, NameEN string
}

// planView is one billed area with plans, for one account.
type planView struct {
	Area           string
	Plan           planOption // the running cycle's plan, or the next one's
	Next           planOption
	Chosen         bool
	Cycle          *access.Cycle
	Limited        bool // the running cycle (or the next plan) has an allowance
	Used, Limit    int64
	Remaining      int64
	Percent        int
	Slowed         bool // the cycle's profile is the slow rate
	Restricted     bool // the cycle's profile is the restricted one
	Packs          []heldPack
	Offers         []packOffer
	Plans          []planOption
	Balance        access.Fen
	Committed      access.Fen
	ChooseDisabled bool // the area has one plan only
}

// planStatusData is what the "planstatus" template gets: the page's
// printer and one area's view.
type planStatusData struct {
	L *i18n.Printer
	V planView
}

func planCtx(l *i18n.Printer, v planView) planStatusData { return planStatusData{L: l, V: v} }

func option(p access.Plan) planOption {
	o := planOption{Plan: p}
	o.NameZH, o.NameEN = p.Names()
	if p.Over == access.OverSlow {
		o.SlowRate = access.FormatKbps(p.SlowDownKbps)
	}
	return o
}

// planAreas are the billed areas with plans open to the account.
func (s *Service) planAreas(acc access.Account) []access.Area {
	var out []access.Area
	for _, a := range s.cfg.Areas {
		if a.Billed() && len(a.Plans) > 0 && a.OpenTo(acc.Role) {
			out = append(out, a)
		}
	}
	return out
}

// planViews reads the account's plan in each of its plan areas.
func (s *Service) planViews(ctx context.Context, acc access.Account, ov overview) ([]planView, error) {
	if s.deps.Plans == nil {
		return nil, nil
	}
	var out []planView
	for _, a := range s.planAreas(acc) {
		st, err := s.deps.Plans.PlanStatus(ctx, acc.Username, a.Name)
		if err != nil {
			return nil, err
		}
		v := planView{Area: a.Name, Plan: option(st.Plan), Next: option(st.Next), Chosen: st.Chosen, Cycle: st.Cycle,
			Used: st.Used(), Limit: st.Limit(), Remaining: st.Remaining(), Percent: st.Percent(),
			Balance: ov.Balance, Committed: ov.Committed, ChooseDisabled: len(a.Plans) < 2}
		v.Plan.Running = st.Cycle != nil
		if st.Cycle != nil {
			v.Limited = st.Cycle.Allowance > 0
			v.Slowed = st.Cycle.Profile == access.ProfileSlow
			v.Restricted = st.Cycle.Profile == access.ProfileRestricted
			for _, k := range st.Plan.Packs {
				o := packOffer{Pack: k, After: ov.Balance - k.Price}
				o.NameZH, o.NameEN = k.Names()
				o.LastsDays = int((k.Lasts + 24*time.Hour - 1) / (24 * time.Hour))
				o.Affordable = o.After >= ov.Committed
				v.Offers = append(v.Offers, o)
			}
		} else {
			v.Limited = st.Next.Limited()
		}
		for _, p := range st.Packs {
			h := heldPack{PackHeld: p}
			h.NameZH, h.NameEN = p.Name, p.Name
			if k, ok := st.Plan.PackByName(p.Name); ok {
				h.NameZH, h.NameEN = k.Names()
			}
			v.Packs = append(v.Packs, h)
		}
		for _, p := range a.Plans {
			o := option(p)
			o.Running = st.Cycle != nil && st.Plan.Name == p.Name
			o.Next = st.Next.Name == p.Name
			v.Plans = append(v.Plans, o)
		}
		out = append(out, v)
	}
	return out, nil
}

// limitedViews keeps the areas whose plan has an allowance: the overview
// and the why page explain only those.
func limitedViews(vs []planView) []planView {
	var out []planView
	for _, v := range vs {
		if v.Limited {
			out = append(out, v)
		}
	}
	return out
}

func (s *Service) plansPage(w http.ResponseWriter, r *http.Request, q *request) error {
	ov, err := s.overview(r.Context(), q.acc)
	if err != nil {
		return err
	}
	views, err := s.planViews(r.Context(), q.acc, ov)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "plans", q, "selfservice.plans.title", struct {
		Views      []planView
		Key        string // the purchase forms' idempotency key
		PaymentURL string
		Available  bool
	}{views, newNonce(), s.cfg.PaymentURL, s.deps.Plans != nil})
	return nil
}

var errNoPlans = errors.New("selfservice: no plan operations on this node")

func (s *Service) plansUnavailable() error {
	return &httpError{status: http.StatusServiceUnavailable, code: CodeUnavailable, message: pair("selfservice.plan.unavailable"), err: errNoPlans}
}

// planArea reads the form's area: one of the account's plan areas, else a
// 400 that changes nothing.
func (s *Service) planArea(r *http.Request, acc access.Account) (access.Area, error) {
	name, err := outsideText(r.PostFormValue("area"), 64)
	if err != nil {
		return access.Area{}, badField("selfservice.input.field.area")
	}
	for _, a := range s.planAreas(acc) {
		if a.Name == name {
			return a, nil
		}
	}
	return access.Area{}, errBadRequest(pair("selfservice.plan.bad_area"))
}

func (s *Service) choosePlanSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	if s.deps.Plans == nil {
		return s.plansUnavailable()
	}
	a, err := s.planArea(r, q.acc)
	if err != nil {
		return err
	}
	name, err := outsideText(r.PostFormValue("plan"), 64)
	if err != nil {
		return badField("selfservice.input.field.plan")
	}
	p, ok := a.PlanByName(name)
	if !ok || name == "" {
		return errBadRequest(pair("selfservice.plan.bad_plan"))
	}
	changed, err := s.deps.Plans.ChoosePlan(r.Context(), q.acc.Username, a.Name, p.Name, q.acc.Username, "self-service")
	if err != nil {
		return err
	}
	zh, en := p.Names()
	zhP, enP := i18n.For(i18n.Chinese), i18n.For(i18n.English)
	f := flash{Kind: "ok", Text: zhP.T("selfservice.plan.chosen", zh) + " / " + enP.T("selfservice.plan.chosen", en)}
	if !changed {
		f = flash{Kind: "warn", Text: zhP.T("selfservice.plan.already_chosen", zh) + " / " + enP.T("selfservice.plan.already_chosen", en)}
	}
	s.log.InfoContext(r.Context(), "plan chosen", "user", q.acc.Username, "area", a.Name, "plan", p.Name, "changed", changed)
	s.setFlash(w, r, f)
	http.Redirect(w, r, "/plans", http.StatusSeeOther)
	return nil
}

// buyData is the confirmation page of a purchase.
type buyData struct {
	Area           string
	Offer          packOffer
	Key            string
	Balance, After access.Fen
	EndsAt         int64
}

// buyPackSubmit is the pack's buy button: without confirm=yes it shows
// what the purchase costs and leaves (changing nothing); with it, it buys
// once per form key.
func (s *Service) buyPackSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	if s.deps.Plans == nil {
		return s.plansUnavailable()
	}
	a, err := s.planArea(r, q.acc)
	if err != nil {
		return err
	}
	packName, err := outsideText(r.PostFormValue("pack"), 64)
	if err != nil {
		return badField("selfservice.input.field.pack")
	}
	key, err := outsideText(r.PostFormValue("key"), 64)
	if err != nil {
		return badField("selfservice.input.field.reference")
	}
	if key == "" || strings.ContainsAny(key, " :") {
		return errBadRequest(pair("selfservice.plan.no_key"))
	}
	ov, err := s.overview(r.Context(), q.acc)
	if err != nil {
		return err
	}
	views, err := s.planViews(r.Context(), q.acc, ov)
	if err != nil {
		return err
	}
	var v planView
	for _, x := range views {
		if x.Area == a.Name {
			v = x
		}
	}
	if v.Cycle == nil {
		return &httpError{status: http.StatusConflict, code: CodeConflict, message: pair("selfservice.plan.no_cycle")}
	}
	var offer packOffer
	found := false
	for _, o := range v.Offers {
		if o.Name == packName {
			offer, found = o, true
		}
	}
	if !found {
		return errBadRequest(pair("selfservice.plan.bad_pack"))
	}
	if !offer.Affordable {
		return &httpError{status: http.StatusConflict, code: CodeConflict,
			message: pair("selfservice.plan.funds", offer.Price.String(), ov.Balance.String(), ov.Committed.String())}
	}
	if r.PostFormValue("confirm") != "yes" {
		d := buyData{Area: a.Name, Offer: offer, Key: key, Balance: ov.Balance, After: offer.After, EndsAt: v.Cycle.EndsAt}
		if offer.Lasts > 0 {
			d.EndsAt = access.Millis(s.now().Add(offer.Lasts))
		}
		s.render(w, r, http.StatusOK, "plan_buy", q, "selfservice.plan.confirm_title", d)
		return nil
	}
	held, e, err := s.deps.Plans.BuyPack(r.Context(), q.acc.Username, a.Name, offer.Name, q.acc.Username, "self:"+key)
	var f flash
	switch {
	case errors.Is(err, access.ErrDuplicate):
		f = flash{Kind: "warn", Text: pair("selfservice.plan.already_bought")}
	case err != nil:
		// The plan or the cycle changed under the form (a settlement, a
		// configuration change): the page shows what is true now.
		return &httpError{status: http.StatusConflict, code: CodeConflict, message: pair("selfservice.plan.buy_failed"), err: err}
	default:
		s.log.InfoContext(r.Context(), "pack bought", "user", q.acc.Username, "area", a.Name, "pack", held.Name, "ledger", e.ID)
		f = flash{Kind: "ok", Text: i18n.For(i18n.Chinese).T("selfservice.plan.bought", offer.NameZH, held.Price.String(), e.BalanceAfter.String(), s.day(held.ExpiresAt)) +
			" / " + i18n.For(i18n.English).T("selfservice.plan.bought", offer.NameEN, held.Price.String(), e.BalanceAfter.String(), s.day(held.ExpiresAt))}
	}
	s.setFlash(w, r, f)
	http.Redirect(w, r, "/plans", http.StatusSeeOther)
	return nil
}
