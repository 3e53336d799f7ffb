package billing

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// MeterSlack is how far before its mark the meter reads closed sessions
// again: a Stop recorded (last_update_at) just before a run but committed
// after it, or on a node whose clock is a little behind, is still read.
// Reading a session twice adds nothing (its watermark).
const MeterSlack = 10 * time.Minute

// MeterReport counts what one Meter run did.
type MeterReport struct {
	Accounts int   // accounts whose transaction ran
	Sessions int   // sessions whose watermark this run moved
	Bytes    int64 // counted bytes added to cycles
	Charged  int   // GB charged past a per-GB allowance (traffic_fee rows)
	Profiles int   // active cycles whose profile changed
	Failed   int   // accounts whose transaction failed (left for the next run)
}

func (r MeterReport) String() string {
	return fmt.Sprintf("accounts %d, sessions %d, counted %d bytes, charged %d GB, profiles changed %d, failed %d",
		r.Accounts, r.Sessions, r.Bytes, r.Charged, r.Profiles, r.Failed)
}

// metered reports whether an area has a plan with an allowance.
func metered(a access.Area) bool {
	for _, p := range a.Plans {
		if p.Limited() {
			return true
		}
	}
	return false
}

// Meter adds the traffic of the sessions of every area with a limited plan
// to their accounts' cycles, and applies what passing the allowance does
// (docs/plans.md, Counting and Past the allowance). Each account is one
// transaction under its row lock: the sessions' deltas since their
// watermarks (moved only if nobody moved them first), split by time across
// a cycle's start, IPv4 only unless the plan counts IPv6; packs consumed
// past the allowance; the profile and the per-GB charges; the
// allowance_80/allowance_100 notifications. After each commit the enforcer
// is told of accounts whose profile changed. Several nodes may run it at
// once: each byte is added once. Areas without a limited plan cost nothing.
func (s *Service) Meter(ctx context.Context) (MeterReport, error) {
	s.meterMu.Lock()
	defer s.meterMu.Unlock()
	var rep MeterReport
	var firstErr error
	for _, a := range s.cfg.Areas {
		if !metered(a) {
			continue
		}
		if err := s.meterArea(ctx, a, &rep); err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	result := "ok"
	if firstErr != nil {
		result = "error"
	}
	s.m.meterRuns.WithLabelValues(result).Inc()
	return rep, firstErr
}

func (s *Service) meterArea(ctx context.Context, a access.Area, rep *MeterReport) error {
	now := s.cfg.Now()
	markName := "area:" + a.Name
	mark, err := s.st.MeterMark(ctx, markName)
	if err != nil {
		return err
	}
	since := int64(0)
	if mark > 0 {
		since = mark - MeterSlack.Milliseconds()
	}
	found, err := s.st.MeterCandidates(ctx, a.Name, since)
	if err != nil {
		return err
	}
	revisit, err := s.st.MeterRevisits(ctx, a.Name)
	if err != nil {
		return err
	}
	byAcc := map[int64][]int64{}
	var order []int64
	for _, r := range found {
		if _, ok := byAcc[r.AccountID]; !ok {
			order = append(order, r.AccountID)
		}
		byAcc[r.AccountID] = append(byAcc[r.AccountID], r.SessionID)
	}
	for _, id := range revisit {
		if _, ok := byAcc[id]; !ok {
			order = append(order, id)
			byAcc[id] = nil
		}
	}
	var firstErr error
	for _, id := range order {
		out, err := s.meterAccount(ctx, a, id, byAcc[id], now)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rep.Failed++
			s.log.Error("meter: account failed; the next run retries", "account", id, "area", a.Name, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		rep.Accounts++
		rep.Sessions += out.sessions
		rep.Bytes += out.bytes
		rep.Charged += out.charged
		s.m.meterBytes.WithLabelValues("ipv4").Add(float64(out.v4))
		s.m.meterBytes.WithLabelValues("ipv6").Add(float64(out.v6))
		s.m.trafficFees.Add(float64(out.charged))
		if out.profileFrom != out.profileTo {
			rep.Profiles++
			s.log.Info("meter: cycle profile changed", "account", id, "user", out.username, "area", a.Name, "cycle", out.cycle,
				"from", string(out.profileFrom), "to", string(out.profileTo))
			if s.cfg.Enforcer != nil {
				s.cfg.Enforcer.EnforceAccount(ctx, id)
			}
		}
	}
	if firstErr != nil {
		return firstErr // the mark stays: the failed accounts' closed sessions are read again
	}
	return s.st.SetMeterMark(ctx, markName, access.Millis(now))
}

// meterOutcome is what one account's transaction did.
type meterOutcome struct {
	username               string
	sessions               int
	bytes, v4, v6          int64
	charged                int
	cycle                  int64
	profileFrom, profileTo access.Profile
}

// meterCycle is a cycle the transaction changes.
type meterCycle struct {
	c       access.Cycle
	plan    access.Plan
	over    int64          // over_bytes
	before  access.Profile // the profile when read
	changed bool
}

func (s *Service) meterAccount(ctx context.Context, a access.Area, accountID int64, ids []int64, now time.Time) (meterOutcome, error) {
	var out meterOutcome
	err := s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		out = meterOutcome{}
		acc, err := s.st.LockAccount(ctx, tx, accountID)
		if err != nil {
			return err
		}
		out.username = acc.Username
		rs, err := s.st.MeterReadingsTx(ctx, tx, accountID, ids)
		if err != nil {
			return err
		}
		cycles := map[int64]*meterCycle{}
		var active *meterCycle
		load := func(c access.Cycle) (*meterCycle, error) {
			if mc, ok := cycles[c.ID]; ok {
				return mc, nil
			}
			over, err := s.st.CycleOverTx(ctx, tx, c.ID)
			if err != nil {
				return nil, err
			}
			p, ok := a.PlanByName(c.Plan)
			if !ok || c.Plan == "" {
				p = access.Plan{Name: c.Plan} // a plan no longer offered, or a cycle from before plans: counted, never limited
			}
			mc := &meterCycle{c: c, plan: p, over: over, before: c.Profile}
			cycles[c.ID] = mc
			if c.Status == access.CycleActive {
				active = mc
			}
			return mc, nil
		}
		var packs []access.PackHeld
		packsRead := false
		for _, r := range rs {
			in, outB := max(r.In, r.WIn), max(r.Out, r.WOut)
			in6, out6 := min(max(r.In6, r.WIn6), in), min(max(r.Out6, r.WOut6), outB)
			dIn, dOut := in-r.WIn, outB-r.WOut
			dIn6, dOut6 := min(max(0, in6-r.WIn6), dIn), min(max(0, out6-r.WOut6), dOut)
			if dIn == 0 && dOut == 0 {
				continue
			}
			prevAt := r.WAt
			if !r.Has {
				prevAt = r.StartedAt
				if prevAt <= 0 || prevAt > r.At {
					prevAt = r.At
				}
			}
			curAt := max(r.At, prevAt)
			cs, err := s.st.MeterCyclesTx(ctx, tx, accountID, a.Name, prevAt, curAt)
			if err != nil {
				return err
			}
			if !r.Has {
				prevAt = loginStart(cs, prevAt, curAt)
			}
			// A reading past the end of the active cycle waits for its
			// settlement: the next cycle, if one follows, takes that part.
			wait := false
			for _, c := range cs {
				if c.Status == access.CycleActive && c.EndsAt < curAt {
					wait = true
				}
			}
			if wait {
				continue
			}
			moved, err := s.st.MoveMeterTx(ctx, tx, r, in, outB, in6, out6, curAt)
			if err != nil {
				return err
			}
			if !moved {
				continue // another meter added this delta
			}
			out.sessions++
			out.v4 += (dIn - dIn6) + (dOut - dOut6)
			out.v6 += dIn6 + dOut6
			parts := splitByTime(cs, prevAt, curAt)
			whole, cum := parts[len(cs)], int64(0)
			for i, c := range cs {
				if parts[i] == 0 {
					continue
				}
				mc, err := load(c)
				if err != nil {
					return err
				}
				// Cumulative shares, so that the parts of a fully covered
				// interval add up to the whole delta.
				all := mc.plan.Counted(dIn, dOut, dIn6, dOut6)
				counted := mulDiv(all, cum+parts[i], whole) - mulDiv(all, cum, whole)
				cum += parts[i]
				if counted == 0 {
					continue
				}
				if mc.plan.Limited() && !packsRead {
					if packs, err = s.st.PacksTx(ctx, tx, accountID, a.Name, access.Millis(now)); err != nil {
						return err
					}
					packsRead = true
				}
				past := max(0, mc.c.Used+counted-mc.c.Allowance) - max(0, mc.c.Used-mc.c.Allowance)
				mc.c.Used += counted
				mc.changed = true
				out.bytes += counted
				if !mc.plan.Limited() || past == 0 {
					continue
				}
				for j := range packs {
					take := min(past, packs[j].Left())
					if take == 0 {
						continue
					}
					if err := s.st.UsePackTx(ctx, tx, packs[j].ID, take); err != nil {
						return err
					}
					packs[j].Used += take
					past -= take
				}
				mc.over += past
			}
		}
		if active == nil {
			c, err := s.st.ActiveCycleTx(ctx, tx, accountID, a.Name)
			switch {
			case err == nil:
				if _, err := load(c); err != nil {
					return err
				}
			case !errors.Is(err, access.ErrNotFound):
				return err
			}
		}
		if active != nil && active.plan.Limited() && !packsRead {
			if packs, err = s.st.PacksTx(ctx, tx, accountID, a.Name, access.Millis(now)); err != nil {
				return err
			}
		}
		var left int64
		for _, p := range packs {
			left += p.Left()
		}
		for _, mc := range cycles {
			if !mc.plan.Limited() {
				if mc.changed {
					if err := s.st.SetCycleMeterTx(ctx, tx, mc.c, mc.over); err != nil {
						return err
					}
				}
				continue
			}
			n, err := s.pastAllowance(ctx, tx, &acc, mc, left, mc == active)
			if err != nil {
				return err
			}
			out.charged += n
			if mc == active {
				out.cycle = mc.c.ID
				out.profileFrom = mc.before
				out.profileTo = mc.c.Profile
			}
			if err := s.st.SetCycleMeterTx(ctx, tx, mc.c, mc.over); err != nil {
				return err
			}
			if mc == active {
				if err := s.notifyAllowance(ctx, tx, acc, mc, left); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// pastAllowance applies the plan's rule past the allowance to a cycle whose
// packs have left bytes unused: the per-GB charges the balance can pay, and
// (active cycles) the profile. It returns the GB charged.
func (s *Service) pastAllowance(ctx context.Context, tx *sqlx.Tx, acc *access.Account, mc *meterCycle, left int64, active bool) (int, error) {
	charged := 0
	profile := access.ProfileFull
	switch mc.plan.Over {
	case access.OverSlow:
		if mc.over > 0 && left == 0 {
			profile = access.ProfileSlow
		}
	case access.OverBlock:
		if mc.over > 0 && left == 0 {
			profile = access.ProfileRestricted
		}
	case access.OverPerGB:
		want := (mc.over + access.GB - 1) / access.GB
		committed, err := s.st.CommittedTx(ctx, tx, acc.ID)
		if err != nil {
			return 0, err
		}
		for mc.c.ChargedGB < want && mc.plan.PerGB > 0 && acc.Balance-committed >= mc.plan.PerGB {
			n := mc.c.ChargedGB + 1
			reason := fmt.Sprintf("超出流量 / traffic past the allowance %s: GB %d", mc.c.Area, n)
			if _, err := s.st.AddLedgerTx(ctx, tx, acc, access.LedgerTrafficFee, -mc.plan.PerGB, Actor, access.TrafficFeeReference(mc.c.ID, n), reason); err != nil {
				return charged, err
			}
			mc.c.ChargedGB = n
			charged++
		}
		if mc.c.ChargedGB < want && left == 0 {
			profile = access.ProfileRestricted
		}
	}
	if active {
		mc.c.Profile = profile
	}
	return charged, nil
}

// notifyAllowance records allowance_80 and allowance_100 for the active
// cycle once each: 80 % of its allowance and packs used at the full rate,
// and all of it.
func (s *Service) notifyAllowance(ctx context.Context, tx *sqlx.Tx, acc access.Account, mc *meterCycle, left int64) error {
	full := mc.c.Used - mc.over // at the full rate: the allowance and the packs' bytes used
	remaining := max(0, mc.c.Allowance-mc.c.Used) + left
	total := full + remaining
	if total <= 0 {
		return nil
	}
	data := map[string]any{
		"cycle": mc.c.ID, "area": mc.c.Area, "plan": mc.c.Plan,
		"used_bytes": mc.c.Used, "allowance_bytes": mc.c.Allowance, "packs_left_bytes": left,
		"over": mc.plan.Over, "ends_at": access.FromMillis(mc.c.EndsAt).In(s.cfg.Location).Format(time.RFC3339),
	}
	switch mc.plan.Over {
	case access.OverSlow:
		data["slow_up_kbps"], data["slow_down_kbps"] = mc.plan.SlowUpKbps, mc.plan.SlowDownKbps
	case access.OverPerGB:
		data["per_gb_fen"] = int64(mc.plan.PerGB)
	}
	if big.NewInt(full).Cmp(new(big.Int).Div(new(big.Int).Mul(big.NewInt(total), big.NewInt(4)), big.NewInt(5))) >= 0 {
		if _, err := s.st.AddNotificationTx(ctx, tx, access.EventAllowance80, fmt.Sprintf("%s:%d", access.EventAllowance80, mc.c.ID), acc, data); err != nil {
			return err
		}
	}
	if remaining == 0 && mc.c.Used > mc.c.Allowance {
		if _, err := s.st.AddNotificationTx(ctx, tx, access.EventAllowance100, fmt.Sprintf("%s:%d", access.EventAllowance100, mc.c.ID), acc, data); err != nil {
			return err
		}
	}
	return nil
}

// MeterLoginSlack is how long before the cycle its login started a
// session may have been recorded as started: the Access-Accept's cycle is
// written a few milliseconds after the session's start.
const MeterLoginSlack = time.Minute

// loginStart is where a session's first reading begins: its start, or the
// start of the cycle its own login opened when no cycle covers the
// session's start and that cycle began within MeterLoginSlack of it, so
// that the login's traffic is not taken as before any cycle.
func loginStart(cs []access.Cycle, from, to int64) int64 {
	for _, c := range cs {
		if c.StartedAt <= from && (from < c.EndsAt || c.Status == access.CycleActive) {
			return from
		}
	}
	for _, c := range cs {
		if c.StartedAt > from && c.StartedAt-from <= MeterLoginSlack.Milliseconds() {
			return min(c.StartedAt, to)
		}
	}
	return from
}

// splitByTime returns, for each cycle, the milliseconds of from..to it
// covers, and last the length of from..to (1 when it is an instant, which
// goes to the cycle covering it). Traffic is taken as even over the
// interval; the part no cycle covers is not counted.
func splitByTime(cs []access.Cycle, from, to int64) []int64 {
	parts := make([]int64, len(cs)+1)
	if to <= from {
		for i, c := range cs {
			if c.StartedAt <= to && (to < c.EndsAt || c.Status == access.CycleActive) {
				parts[i] = 1
				break
			}
		}
		parts[len(cs)] = 1
		return parts
	}
	for i, c := range cs {
		lo, hi := max(from, c.StartedAt), min(to, c.EndsAt)
		if hi > lo {
			parts[i] = hi - lo
		}
	}
	parts[len(cs)] = to - from
	return parts
}

// mulDiv is n × part / whole without overflow (n up to 2^63, times up to
// years in milliseconds).
func mulDiv(n, part, whole int64) int64 {
	if part == whole {
		return n
	}
	r := new(big.Int).Mul(big.NewInt(n), big.NewInt(part))
	return r.Div(r, big.NewInt(whole)).Int64()
}

// RunMeter meters at once and then every interval until ctx ends.
func (s *Service) RunMeter(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := s.Meter(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Error("meter run", "err", err, "report", rep.String())
		} else if rep.Charged > 0 || rep.Profiles > 0 {
			s.log.Info("meter run", "report", rep.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Metering applies to some configured area.
func (s *Service) Metering() bool {
	for _, a := range s.cfg.Areas {
		if metered(a) {
			return true
		}
	}
	return false
}
