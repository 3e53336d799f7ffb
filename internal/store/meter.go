package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Cycles under plans and the meter's reads and writes (docs/plans.md). The
// store does not know the configuration: callers pass the area, with its
// plans; an area without plans takes none of these paths.

// NextPlanTx is the plan the account's next cycle in area runs under: the
// one chosen in plan_choices, else (none, or a plan no longer offered) the
// area's default. An area without plans reads nothing.
func (s *Store) NextPlanTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area access.Area) (access.Plan, error) {
	if len(area.Plans) == 0 {
		return area.DefaultPlan(), nil
	}
	name, err := s.PlanChoiceTx(ctx, tx, accountID, area.Name)
	if err != nil {
		return access.Plan{}, err
	}
	return chosen(area, name), nil
}

// NextPlan is NextPlanTx outside a transaction.
func (s *Store) NextPlan(ctx context.Context, accountID int64, area access.Area) (access.Plan, error) {
	if len(area.Plans) == 0 {
		return area.DefaultPlan(), nil
	}
	name, err := s.PlanChoice(ctx, accountID, area.Name)
	if err != nil {
		return access.Plan{}, err
	}
	return chosen(area, name), nil
}

func chosen(area access.Area, name string) access.Plan {
	if p, ok := area.PlanByName(name); ok && name != "" {
		return p
	}
	return area.DefaultPlan()
}

// StartPlanCycleTx starts the account's cycle in area, as StartCycleTx
// does, whatever the area: in an area with plans the cycle runs under the
// plan NextPlanTx picks, with its fee, allowance and length, and starts when
// the balance covers that plan's fee; an area without plans gets its flat
// cycle from StartCycleTx, exactly as before plans.
func (s *Store) StartPlanCycleTx(ctx context.Context, tx *sqlx.Tx, acc *access.Account, area access.Area) (access.Cycle, bool, error) {
	if len(area.Plans) == 0 {
		p := area.DefaultPlan()
		return s.StartCycleTx(ctx, tx, acc, area.Name, p.Fee, p.Cycle)
	}
	locked, err := s.LockAccount(ctx, tx, acc.ID)
	if err != nil {
		return access.Cycle{}, false, err
	}
	*acc = locked
	c, err := s.ActiveCycleTx(ctx, tx, acc.ID, area.Name)
	if err == nil {
		return c, false, nil
	}
	if !errors.Is(err, access.ErrNotFound) {
		return c, false, err
	}
	p, err := s.NextPlanTx(ctx, tx, acc.ID, area)
	if err != nil {
		return access.Cycle{}, false, err
	}
	if p.Fee <= 0 || p.Cycle <= 0 {
		return access.Cycle{}, false, fmt.Errorf("store: start cycle in %s under %s: fee %s, length %s: %w", area.Name, p.Name, p.Fee, p.Cycle, access.ErrInvalid)
	}
	if acc.Balance < p.Fee {
		return access.Cycle{}, false, nil
	}
	c, err = s.InsertPlanCycleTx(ctx, tx, acc.ID, area.Name, p, s.now())
	if err != nil {
		return c, false, err
	}
	return c, true, nil
}

// InsertPlanCycleTx is InsertCycleTx under plan p: the cycle records the
// plan's name, fee and allowance and lasts the plan's cycle.
func (s *Store) InsertPlanCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, p access.Plan, start time.Time) (access.Cycle, error) {
	c := access.Cycle{AccountID: accountID, Area: area, Fee: p.Fee, StartedAt: access.Millis(start),
		EndsAt: access.Millis(start.Add(p.Cycle)), Status: access.CycleActive, Plan: p.Name, Allowance: p.Allowance}
	err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at, status, plan, allowance_bytes)
		VALUES (?, ?, ?, ?, ?, 'active', ?, ?) RETURNING id`), c.AccountID, c.Area, c.Fee, c.StartedAt, c.EndsAt, c.Plan, c.Allowance).Scan(&c.ID)
	if err != nil {
		if IsUniqueViolation(err) {
			return c, fmt.Errorf("store: start cycle of account #%d in %s: %w", accountID, area, access.ErrDuplicate)
		}
		return c, fmt.Errorf("store: start cycle: %w", err)
	}
	return c, nil
}

// meterReadCols are a session's counters and watermark (access.MeterReading).
const meterReadCols = `s.id, s.account_id, s.status, s.input_octets, s.output_octets, s.input_octets6, s.output_octets6,
	s.started_at, s.last_update_at, m.session_id IS NOT NULL AS has_mark,
	COALESCE(m.in_octets, 0) AS m_in, COALESCE(m.out_octets, 0) AS m_out,
	COALESCE(m.in6_octets, 0) AS m_in6, COALESCE(m.out6_octets, 0) AS m_out6, COALESCE(m.at, 0) AS m_at
	FROM sessions s LEFT JOIN session_meter m ON m.session_id = s.id`

// meterChanged is true of a session whose counters grew past its watermark.
const meterChanged = `(s.input_octets > COALESCE(m.in_octets, 0) OR s.output_octets > COALESCE(m.out_octets, 0))`

// MeterCandidates returns the sessions of area whose counters grew past
// their watermark: every online one, and the closed ones last heard of at or
// after closedSince. Ordered by account.
func (s *Store) MeterCandidates(ctx context.Context, area string, closedSince int64) ([]access.MeterReading, error) {
	var online, closed []access.MeterReading
	err := s.db.SelectContext(ctx, &online, s.db.Rebind(`SELECT `+meterReadCols+`
		WHERE s.status = 'online' AND s.last_update_at >= 0 AND s.area = ? AND `+meterChanged), area)
	if err != nil {
		return nil, fmt.Errorf("store: meter sessions of %s: %w", area, err)
	}
	err = s.db.SelectContext(ctx, &closed, s.db.Rebind(`SELECT `+meterReadCols+`
		WHERE s.status = 'closed' AND s.started_at > 0 AND s.last_update_at >= ? AND s.area = ? AND `+meterChanged), closedSince, area)
	if err != nil {
		return nil, fmt.Errorf("store: meter closed sessions of %s: %w", area, err)
	}
	out := append(online, closed...)
	sortReadings(out)
	return out, nil
}

func sortReadings(rs []access.MeterReading) {
	slices.SortFunc(rs, func(a, b access.MeterReading) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.SessionID, b.SessionID))
	})
}

// MeterRevisits returns the accounts with an active cycle in area whose
// state may change without new traffic: a profile other than full (a pack
// or a recharge may lift it) or GB begun past a per-GB allowance and not
// yet paid.
func (s *Store) MeterRevisits(ctx context.Context, area string) ([]int64, error) {
	var ids []int64
	err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT account_id FROM cycles
		WHERE status = 'active' AND area = ? AND (profile <> '' OR over_bytes > charged_gb * ?) ORDER BY account_id`), area, access.GB)
	if err != nil {
		return nil, fmt.Errorf("store: meter revisits of %s: %w", area, err)
	}
	return ids, nil
}

// MeterReadingsTx re-reads, inside the meter's transaction (which holds the
// account's lock), the account's sessions of ids with their watermarks.
func (s *Store) MeterReadingsTx(ctx context.Context, tx *sqlx.Tx, accountID int64, ids []int64) ([]access.MeterReading, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT `+meterReadCols+` WHERE s.account_id = ? AND s.id IN (?) ORDER BY s.id`, accountID, ids)
	if err != nil {
		return nil, fmt.Errorf("store: meter sessions: %w", err)
	}
	var out []access.MeterReading
	if err := tx.SelectContext(ctx, &out, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: meter sessions of account #%d: %w", accountID, err)
	}
	return out, nil
}

// MoveMeterTx moves session r's watermark to the counters in, out, in6,
// out6 read at at, only if it is still what r read (moved = false
// otherwise: another meter added that delta first, and this one must not).
func (s *Store) MoveMeterTx(ctx context.Context, tx *sqlx.Tx, r access.MeterReading, in, out, in6, out6, at int64) (moved bool, err error) {
	var res interface{ RowsAffected() (int64, error) }
	if r.Has {
		res, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE session_meter SET in_octets = ?, out_octets = ?, in6_octets = ?, out6_octets = ?, at = ?
			WHERE session_id = ? AND in_octets = ? AND out_octets = ? AND in6_octets = ? AND out6_octets = ? AND at = ?`),
			in, out, in6, out6, at, r.SessionID, r.WIn, r.WOut, r.WIn6, r.WOut6, r.WAt)
	} else {
		res, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO session_meter (session_id, account_id, in_octets, out_octets, in6_octets, out6_octets, at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO NOTHING`), r.SessionID, r.AccountID, in, out, in6, out6, at)
	}
	if err != nil {
		return false, fmt.Errorf("store: meter watermark of session #%d: %w", r.SessionID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: meter watermark of session #%d: %w", r.SessionID, err)
	}
	return n == 1, nil
}

// MeterCyclesTx returns the account's cycles in area that overlap the time
// from..to (unix ms), or that are active, oldest first.
func (s *Store) MeterCyclesTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, from, to int64) ([]access.Cycle, error) {
	var out []access.Cycle
	err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT `+cycleCols+` FROM cycles
		WHERE account_id = ? AND area = ? AND (status = 'active' OR (ends_at >= ? AND started_at <= ?)) ORDER BY started_at, id`), accountID, area, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: cycles of account #%d in %s: %w", accountID, area, err)
	}
	return out, nil
}

// CycleOverTx returns a cycle's traffic past its allowance that no pack
// covered (cycles.over_bytes).
func (s *Store) CycleOverTx(ctx context.Context, tx *sqlx.Tx, cycleID int64) (int64, error) {
	var over int64
	if err := tx.GetContext(ctx, &over, tx.Rebind(`SELECT over_bytes FROM cycles WHERE id = ?`), cycleID); err != nil {
		return 0, notFound(err, fmt.Sprintf("cycle #%d", cycleID))
	}
	return over, nil
}

// SetCycleMeterTx writes what the meter keeps on a cycle: its counted
// traffic, the part of it past the allowance no pack covered, the GB
// charged past it and its profile.
func (s *Store) SetCycleMeterTx(ctx context.Context, tx *sqlx.Tx, c access.Cycle, over int64) error {
	if c.Used < 0 || over < 0 || c.ChargedGB < 0 {
		return fmt.Errorf("store: meter of cycle #%d: used %d, over %d, charged %d GB: %w", c.ID, c.Used, over, c.ChargedGB, access.ErrInvalid)
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE cycles SET used_bytes = ?, over_bytes = ?, charged_gb = ?, profile = ? WHERE id = ?`),
		c.Used, over, c.ChargedGB, c.Profile, c.ID)
	if err != nil {
		return fmt.Errorf("store: meter of cycle #%d: %w", c.ID, err)
	}
	return nil
}

// UsePackTx adds bytes to a pack's used_bytes.
func (s *Store) UsePackTx(ctx context.Context, tx *sqlx.Tx, packID, bytes int64) error {
	if bytes <= 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE packs SET used_bytes = used_bytes + ? WHERE id = ?`), bytes, packID); err != nil {
		return fmt.Errorf("store: use pack #%d: %w", packID, err)
	}
	return nil
}

// MeterMark returns how far the meter has read the closed sessions of a
// meter mark name (0 when never).
func (s *Store) MeterMark(ctx context.Context, name string) (int64, error) {
	var at []int64
	if err := s.db.SelectContext(ctx, &at, s.db.Rebind(`SELECT at FROM meter_marks WHERE name = ?`), name); err != nil {
		return 0, fmt.Errorf("store: meter mark %s: %w", name, err)
	}
	if len(at) == 0 {
		return 0, nil
	}
	return at[0], nil
}

// SetMeterMark moves a meter mark forward to at (never back: a slower node
// finishing late keeps the mark another set).
func (s *Store) SetMeterMark(ctx context.Context, name string, at int64) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO meter_marks (name, at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET at = CASE WHEN excluded.at > meter_marks.at THEN excluded.at ELSE meter_marks.at END`), name, at)
	if err != nil {
		return fmt.Errorf("store: meter mark %s: %w", name, err)
	}
	return nil
}

// checkTraffic is CheckBilling's part for traffic plans: every traffic_fee
// row charges a GB its cycle counts (1 ≤ n ≤ charged_gb, the cycle's
// account, a negative amount), each cycle has one row per GB charged, and
// a cycle's usage is not negative and began at least the GB it charged.
func (s *Store) checkTraffic(ctx context.Context, users map[int64]string, add func(id int64, user, kind, format string, args ...any)) error {
	var cycles []struct {
		ID        int64  `db:"id"`
		AccountID int64  `db:"account_id"`
		Area      string `db:"area"`
		Allowance int64  `db:"allowance_bytes"`
		Used      int64  `db:"used_bytes"`
		Over      int64  `db:"over_bytes"`
		ChargedGB int64  `db:"charged_gb"`
	}
	if err := s.db.SelectContext(ctx, &cycles, `SELECT id, account_id, area, allowance_bytes, used_bytes, over_bytes, charged_gb FROM cycles
		WHERE used_bytes <> 0 OR over_bytes <> 0 OR charged_gb <> 0 ORDER BY id`); err != nil {
		return fmt.Errorf("store: check cycle usage: %w", err)
	}
	var fees []access.LedgerEntry
	if err := s.db.SelectContext(ctx, &fees, s.db.Rebind(`SELECT `+ledgerCols+` FROM ledger WHERE kind = ? ORDER BY id`), access.LedgerTrafficFee); err != nil {
		return fmt.Errorf("store: check traffic fees: %w", err)
	}
	type cyc struct {
		account, charged int64
		rows             int64
	}
	byID := make(map[int64]*cyc, len(cycles))
	for _, c := range cycles {
		byID[c.ID] = &cyc{account: c.AccountID, charged: c.ChargedGB}
		switch {
		case c.Used < 0 || c.Over < 0 || c.ChargedGB < 0:
			add(c.AccountID, users[c.AccountID], access.ProblemCycleUsage, "cycle #%d in %s: used %d bytes, over %d bytes, charged %d GB", c.ID, c.Area, c.Used, c.Over, c.ChargedGB)
		case c.Over > max(0, c.Used-c.Allowance):
			add(c.AccountID, users[c.AccountID], access.ProblemCycleUsage, "cycle #%d in %s: %d bytes past the allowance of %d bytes with %d bytes used", c.ID, c.Area, c.Over, c.Allowance, c.Used)
		case c.ChargedGB > (c.Over+access.GB-1)/access.GB:
			add(c.AccountID, users[c.AccountID], access.ProblemCycleUsage, "cycle #%d in %s charged %d GB for %d bytes past its allowance", c.ID, c.Area, c.ChargedGB, c.Over)
		}
	}
	for _, f := range fees {
		var cycleID, n int64
		if _, err := fmt.Sscanf(f.Reference, "traffic:%d:%d", &cycleID, &n); err != nil || access.TrafficFeeReference(cycleID, n) != f.Reference {
			add(f.AccountID, users[f.AccountID], access.ProblemTrafficFee, "ledger row #%d: reference %q is not traffic:<cycle>:<n>", f.ID, f.Reference)
			continue
		}
		c := byID[cycleID]
		switch {
		case c == nil || c.account != f.AccountID:
			add(f.AccountID, users[f.AccountID], access.ProblemTrafficFee, "ledger row #%d (%s) names no cycle of the account that charged GB", f.ID, f.Reference)
		case n < 1 || n > c.charged:
			add(f.AccountID, users[f.AccountID], access.ProblemTrafficFee, "ledger row #%d charges GB %d of cycle #%d, which charged %d", f.ID, n, cycleID, c.charged)
		case f.Amount >= 0:
			add(f.AccountID, users[f.AccountID], access.ProblemTrafficFee, "ledger row #%d charges %s yuan", f.ID, f.Amount)
		default:
			c.rows++
		}
	}
	for _, c := range cycles {
		if x := byID[c.ID]; x.rows != x.charged {
			add(c.AccountID, users[c.AccountID], access.ProblemTrafficFee, "cycle #%d charged %d GB with %d traffic_fee rows", c.ID, x.charged, x.rows)
		}
	}
	return nil
}
