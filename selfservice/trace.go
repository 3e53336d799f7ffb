package selfservice

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

// Trace: which session held an address (IPv4, or IPv6 inside a session's
// link or delegated prefix), an IPv6 prefix or a MAC at a moment or in an
// interval, for the police, an abuse desk or a dorm supervisor. The NOC
// page (/admin/trace, a POST form with the CSRF token: a trace is written
// to the audit log, so it is never a link that can be replayed) and the
// operators' API (POST /api/v1/admin/trace) do what `campusnet trace`
// does, through the same store query, and audit every trace with the
// operator and the reason before showing it.

// traceInput is a trace as an operator asks it: the address or MAC, the
// moment or interval as typed, and the reason.
type traceInput struct {
	Key    string `json:"key"`
	At     string `json:"at"`
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// traceResult is an answered trace.
type traceResult struct {
	Query access.TraceQuery
	Rows  []access.TraceRow
}

func traceBad(zh, en string) error { return errBadRequest(zh + " / " + en) }

// query checks the input and builds the store query; the times are read
// in the campus zone.
func (in *traceInput) query(loc *time.Location, now time.Time) (access.TraceQuery, error) {
	var q access.TraceQuery
	for _, f := range []struct {
		v     *string
		field string
		max   int
	}{{&in.Key, "selfservice.input.field.trace_key", 64}, {&in.At, "selfservice.input.field.trace_time", 64},
		{&in.From, "selfservice.input.field.trace_time", 64}, {&in.To, "selfservice.input.field.trace_time", 64},
		{&in.Reason, "selfservice.input.field.reason", maxReasonInput}} {
		v, err := outsideText(*f.v, f.max)
		if err != nil {
			return q, badField(f.field)
		}
		*f.v = v
	}
	if in.Key == "" {
		return q, traceBad("请填写要追溯的 IP 地址、IPv6 前缀或 MAC", "Give the IPv4 or IPv6 address, IPv6 prefix or MAC to trace")
	}
	if in.Reason == "" {
		return q, traceBad("请填写事由（案件或工单编号，会记入审计日志）", "Give the reason: the case or ticket number (it goes into the audit log)")
	}
	if len(in.Reason) > 500 {
		return q, errBadRequest("原因太长 / The reason is too long")
	}
	k, err := access.ParseTraceKey(in.Key)
	if err != nil {
		return q, traceBad(fmt.Sprintf("%q 既不是 IPv4 地址、IPv6 地址或前缀，也不是 MAC", in.Key),
			fmt.Sprintf("%q is neither an IPv4 address, an IPv6 address or prefix, nor a MAC", in.Key))
	}
	q.IP, q.IPv6, q.MAC = k.IP, k.IPv6, k.MAC
	parse := func(s string) (time.Time, error) {
		t, err := access.ParseOperatorTime(s, loc, now)
		if err != nil {
			return t, traceBad(fmt.Sprintf("看不懂时间 %q：请写成 2026-12-02 14:05、2026-12-02T14:05:00+08:00 或 yesterday 14:05", s),
				fmt.Sprintf("Cannot read the time %q: write it like 2026-12-02 14:05, 2026-12-02T14:05:00+08:00 or yesterday 14:05", s))
		}
		return t, nil
	}
	switch {
	case in.At != "" && (in.From != "" || in.To != ""):
		return q, traceBad("请填写时刻，或起止时间，不要同时填写", "Give a moment, or a start and an end, not both")
	case in.At != "":
		if q.From, err = parse(in.At); err != nil {
			return q, err
		}
		q.To = q.From
	case in.From != "" || in.To != "":
		if in.From == "" || in.To == "" {
			return q, traceBad("起止时间要一起填写", "Give both the start and the end")
		}
		if q.From, err = parse(in.From); err != nil {
			return q, err
		}
		if q.To, err = parse(in.To); err != nil {
			return q, err
		}
		if q.To.Before(q.From) {
			return q, traceBad("结束时间早于开始时间", "The end is before the start")
		}
	default:
		q.From = now.In(loc)
		q.To = q.From
	}
	return q, nil
}

// traceWhen is the asked time in the page's language, with its offset.
func traceWhen(l *i18n.Printer, q access.TraceQuery, loc *time.Location) string {
	f := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 -07:00") }
	if q.From.Equal(q.To) {
		return l.T("selfservice.trace.at_moment", f(q.From))
	}
	return l.T("selfservice.trace.between", f(q.From), f(q.To))
}

// trace runs an operator's trace and audits it (actor, reason, what was
// asked, how many sessions, where from); a trace that cannot be audited
// is not given.
func (s *Service) trace(ctx context.Context, actor string, in traceInput, via string) (traceResult, error) {
	q, err := in.query(s.cfg.Location, s.now())
	if err != nil {
		return traceResult{}, err
	}
	rows, err := s.st.TraceSessions(ctx, q)
	if errors.Is(err, access.ErrInvalid) {
		return traceResult{}, errBadRequest(oneLine(err))
	}
	if err != nil {
		return traceResult{}, err
	}
	detail := fmt.Sprintf("%s: %d session(s), %s", traceWhen(i18n.For(i18n.English), q, s.cfg.Location), len(rows), via)
	if err := s.st.Audit(ctx, actor, "trace", q.Key(), in.Reason, detail); err != nil {
		return traceResult{}, err
	}
	s.log.InfoContext(ctx, "trace", "actor", actor, "reason", in.Reason, "target", q.Key(), "sessions", len(rows))
	return traceResult{Query: q, Rows: rows}, nil
}

// traceRowView is a traced session on the page.
type traceRowView struct {
	access.TraceRow
	Start, Until, Ended string
}

// tracePage is the page's data.
type tracePage struct {
	In       traceInput
	Zone     string
	Error    string // bilingual, shown in the page's language
	Asked    bool
	When     string
	Key      string
	Rows     []traceRowView
	Timeline *traceTimeline
}

// endedText says how a traced session ended, in the page's language.
func endedText(l *i18n.Printer, r access.TraceRow) string {
	switch r.End {
	case access.TraceOnline:
		return l.T("selfservice.trace.end.online")
	case access.TraceStopped:
		t := l.T("selfservice.trace.end.stop")
		if r.TerminateCause != "" {
			t += " (" + r.TerminateCause + ")"
		}
		return t
	}
	why := r.CloseReason
	if why == "" {
		why = "closed"
	}
	return l.T("selfservice.trace.end.no_stop", why)
}

// adminTraceForm is the empty form, or with ?addr= (the link from "find
// anyone") the address filled in, to trace once a reason is given.
func (s *Service) adminTraceForm(w http.ResponseWriter, r *http.Request, q *request) error {
	page := tracePage{Zone: s.cfg.Location.String()}
	if addr, err := outsideText(r.URL.Query().Get("addr"), 64); err == nil {
		page.In.Key = addr
	}
	s.render(w, r, http.StatusOK, "admin_trace", q, "selfservice.admin.trace", page)
	return nil
}

// adminTrace answers the form: the results table (and its timeline), or,
// with format=csv, the CSV download.
func (s *Service) adminTrace(w http.ResponseWriter, r *http.Request, q *request) error {
	in := traceInput{Key: r.PostFormValue("key"), At: r.PostFormValue("at"), From: r.PostFormValue("from"),
		To: r.PostFormValue("to"), Reason: r.PostFormValue("reason")}
	csvOut := r.PostFormValue("format") == "csv"
	via := "NOC page"
	if csvOut {
		via = "NOC page, CSV"
	}
	res, err := s.trace(r.Context(), q.acc.Username, in, via)
	l := i18n.Request(w, r, s.cfg.SecureCookies)
	page := tracePage{In: in, Zone: s.cfg.Location.String()}
	var he *httpError
	if errors.As(err, &he) && he.status == http.StatusBadRequest {
		page.Error = he.message
		s.render(w, r, http.StatusBadRequest, "admin_trace", q, "selfservice.admin.trace", page)
		return nil
	}
	if err != nil {
		return err
	}
	if csvOut {
		return s.traceCSV(w, res)
	}
	page.Asked, page.Key, page.When = true, res.Query.Key(), traceWhen(l, res.Query, s.cfg.Location)
	for _, row := range res.Rows {
		page.Rows = append(page.Rows, traceRowView{TraceRow: row, Start: s.stamp(row.StartedAt), Until: s.stamp(row.Until), Ended: endedText(l, row)})
	}
	page.Timeline = s.timeline(res)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "admin_trace", q, "selfservice.admin.trace", page)
	return nil
}

// stamp is a time to the second with its offset, in the campus zone.
func (s *Service) stamp(ms int64) string {
	return access.FromMillis(ms).In(s.cfg.Location).Format("2006-01-02 15:04:05 -07:00")
}

// traceCSV sends the trace as a CSV file: UTF-8 with a byte-order mark, so
// that Excel and WPS show the Chinese names intact.
func (s *Service) traceCSV(w http.ResponseWriter, res traceResult) error {
	name := strings.NewReplacer(":", "-", ".", "-", "/", "_").Replace(res.Query.Key())
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="trace-%s-%s.csv"`, name,
		res.Query.From.In(s.cfg.Location).Format("20060102T1504")))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(access.UTF8BOM))
	cw := csv.NewWriter(w)
	_ = cw.Write(access.TraceCSVHeader)
	for _, r := range res.Rows {
		_ = cw.Write(r.Record(s.cfg.Location).CSV())
	}
	cw.Flush()
	return nil
}

// apiTraceAnswer is the API's answer, as `campusnet trace --format json`.
type apiTraceAnswer struct {
	Key      string               `json:"key"`
	From     string               `json:"from"`
	To       string               `json:"to"`
	Timezone string               `json:"timezone"`
	Sessions []access.TraceRecord `json:"sessions"`
}

// apiTrace is POST /api/v1/admin/trace {"key","at"|"from","to","reason"}.
func (s *Service) apiTrace(w http.ResponseWriter, r *http.Request, q *request) error {
	var in traceInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	res, err := s.trace(r.Context(), q.acc.Username, in, "API")
	if err != nil {
		return err
	}
	loc := s.cfg.Location
	out := apiTraceAnswer{Key: res.Query.Key(), From: res.Query.From.In(loc).Format(time.RFC3339), To: res.Query.To.In(loc).Format(time.RFC3339),
		Timezone: loc.String(), Sessions: []access.TraceRecord{}}
	for _, row := range res.Rows {
		out.Sessions = append(out.Sessions, row.Record(loc))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// traceTimeline draws the traced sessions on one time axis (server-side
// SVG; the table beside it says the same in text): who held the address
// when, and the gaps between them.
type traceTimeline struct {
	Width, Height int
	Bars          []timelineBar
	Ticks         []timelineTick
	AskedX        float64 // the moment asked, or the interval's start
	AskedW        float64 // the interval's width (0: a moment)
}

type timelineBar struct {
	Y        int
	X, W     float64
	Label    string
	Open     bool // no Stop, or online: drawn dashed at its end
	TitleTxt string
}

type timelineTick struct {
	X     float64
	Label string
}

const (
	timelineLeft  = 150.0
	timelineWidth = 560.0
	timelineRow   = 26
)

// timeline lays the sessions out; nil when there is nothing to draw.
func (s *Service) timeline(res traceResult) *traceTimeline {
	if len(res.Rows) == 0 || len(res.Rows) > 50 {
		return nil
	}
	lo, hi := access.Millis(res.Query.From), access.Millis(res.Query.To)
	for _, r := range res.Rows {
		lo, hi = min(lo, r.StartedAt), max(hi, r.Until)
	}
	span := float64(hi - lo)
	if span <= 0 {
		span = 1
	}
	pad := span * 0.04
	lo, hi = lo-int64(pad), hi+int64(pad)
	span = float64(hi - lo)
	x := func(ms int64) float64 { return timelineLeft + float64(ms-lo)/span*timelineWidth }
	t := &traceTimeline{Width: int(timelineLeft + timelineWidth + 20), Height: len(res.Rows)*timelineRow + 40}
	for i, r := range res.Rows {
		w := x(r.Until) - x(r.StartedAt)
		t.Bars = append(t.Bars, timelineBar{Y: 10 + i*timelineRow, X: x(r.StartedAt), W: max(w, 2), Label: r.Username + " " + r.Name,
			Open: r.End != access.TraceStopped, TitleTxt: s.stamp(r.StartedAt) + " – " + s.stamp(r.Until)})
	}
	t.AskedX = x(access.Millis(res.Query.From))
	t.AskedW = x(access.Millis(res.Query.To)) - t.AskedX
	for i := 0; i <= 4; i++ {
		ms := lo + int64(float64(i)/4*span)
		layout := "15:04 -07:00"
		if hi-lo > int64(36*time.Hour/time.Millisecond) {
			layout = "01-02 15:04 -07:00"
		}
		t.Ticks = append(t.Ticks, timelineTick{X: x(ms), Label: access.FromMillis(ms).In(s.cfg.Location).Format(layout)})
	}
	return t
}
