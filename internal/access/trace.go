package access

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// TraceQuery asks which sessions held a user address, or a MAC, at a
// moment (From == To) or at any time in an interval (both ends included):
// "which student used 10.12.9.9 (or 2001:db8:1:2::abcd) at 14:05
// yesterday?". Exactly one of IP, IPv6 and MAC is given.
type TraceQuery struct {
	IP netip.Addr // an IPv4 user address (Framed-IP-Address)
	// IPv6 is an IPv6 address (a /128) or prefix: it names the sessions
	// whose link (Framed-IPv6-Prefix, else the /64 of Framed-IPv6-Address)
	// or delegated prefix (Delegated-IPv6-Prefix) overlaps it. A privacy
	// address the student's device chose inside its /64 names the session
	// as its recorded address does.
	IPv6 netip.Prefix
	MAC  string // canonical (NormalizeMAC)
	// From and To bound the interval; a moment is From == To.
	From, To time.Time
	// Limit bounds the rows (default 1000, at most 10000).
	Limit int
}

// Validate checks the query: one key, a well-formed interval.
func (q *TraceQuery) Validate() error {
	keys := 0
	if q.IP.IsValid() {
		keys++
		if !q.IP.Unmap().Is4() {
			return fmt.Errorf("%w: trace: %s is not an IPv4 address", ErrInvalid, q.IP)
		}
		q.IP = q.IP.Unmap()
	}
	if q.IPv6.IsValid() {
		keys++
		if !q.IPv6.Addr().Is6() || q.IPv6.Addr().Is4In6() || q.IPv6.Addr().Zone() != "" {
			return fmt.Errorf("%w: trace: %s is not an IPv6 address or prefix", ErrInvalid, q.IPv6)
		}
		q.IPv6 = q.IPv6.Masked()
	}
	if q.MAC != "" {
		keys++
		m, err := NormalizeMAC(q.MAC)
		if err != nil {
			return fmt.Errorf("%w: trace: %v", ErrInvalid, err)
		}
		q.MAC = m
	}
	if keys != 1 {
		return fmt.Errorf("%w: trace: give one IPv4 address, IPv6 address or prefix, or MAC", ErrInvalid)
	}
	if q.From.IsZero() || q.To.IsZero() {
		return fmt.Errorf("%w: trace: no time given", ErrInvalid)
	}
	if q.To.Before(q.From) {
		return fmt.Errorf("%w: trace: the interval ends (%s) before it starts (%s)", ErrInvalid,
			q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	q.Limit = min(q.Limit, 10000)
	return nil
}

// Key is the address, prefix or MAC the query traces, as written in the
// audit log: an IPv6 /128 as the address alone.
func (q TraceQuery) Key() string {
	switch {
	case q.IP.IsValid():
		return q.IP.String()
	case q.IPv6.IsValid() && q.IPv6.IsSingleIP():
		return q.IPv6.Addr().String()
	case q.IPv6.IsValid():
		return q.IPv6.String()
	}
	return q.MAC
}

// ParseTraceKey reads what an operator traces: an IPv4 address, an IPv6
// address or prefix (ParseIPv6Query), else a MAC in any notation
// NormalizeMAC knows. The result has exactly one key set; an error wraps
// ErrInvalid.
func ParseTraceKey(s string) (TraceQuery, error) {
	s = strings.TrimSpace(s)
	var q TraceQuery
	if ip, err := netip.ParseAddr(s); err == nil && ip.Unmap().Is4() {
		q.IP = ip.Unmap()
		return q, nil
	}
	if p, err := ParseIPv6Query(s); err == nil {
		q.IPv6 = p
		return q, nil
	}
	mac, err := NormalizeMAC(s)
	if err != nil {
		return q, fmt.Errorf("%w: trace: %q is neither an IPv4 address, an IPv6 address or prefix (2001:db8:1:2::abcd, 2001:db8:1:2::/64) nor a MAC (00-10-A4-23-19-C0, 0010.a423.19c0, …)", ErrInvalid, StripControl(s))
	}
	q.MAC = mac
	return q, nil
}

// How a traced session ended (TraceRow.End).
const (
	// TraceStopped: the BAS sent Accounting-Stop; the session held the
	// address up to Until, the Stop.
	TraceStopped = "stop"
	// TraceNoStop: closed without a Stop (no Interim-Update for too long,
	// the BAS restarted, an operator's kick nobody confirmed, the MAC
	// started a new session): it counts up to its last Interim-Update (or
	// its Start), the last the BAS said of it.
	TraceNoStop = "no_stop"
	// TraceOnline: online now; it counts up to now.
	TraceOnline = "online"
)

// TraceRow is one session a trace found, with its account's name and role.
type TraceRow struct {
	Session
	Name string `db:"name"`
	Role Role   `db:"role"`
	// Until is when the session is known to have held the address last:
	// the Stop, else the last Interim-Update, else (online) now, in unix
	// milliseconds.
	Until int64 `db:"-"`
	// End is TraceStopped, TraceNoStop or TraceOnline.
	End string `db:"-"`
}

// FinishTraceRow fills Until and End from the session's columns (the
// stores call it on each row). A Stop leaves last_update_at at or after
// stopped_at (a Stop after a kick keeps the kick's stopped_at); every other
// close stamps stopped_at after the last Interim-Update.
func FinishTraceRow(r *TraceRow, now time.Time) {
	switch {
	case r.Status != SessionClosed:
		r.End, r.Until = TraceOnline, Millis(now)
	case r.CloseReason == CloseStop || r.TerminateCause != "" || r.LastUpdateAt > r.StoppedAt:
		r.End, r.Until = TraceStopped, r.LastUpdateAt
	default:
		r.End, r.Until = TraceNoStop, r.LastUpdateAt
	}
}

// EndText says in English how the session ended, for the CLI and the CSV
// ("Stop (User-Request)", "no Stop (stale): counted to the last
// Interim-Update", "online now").
func (r TraceRow) EndText() string {
	switch r.End {
	case TraceOnline:
		return "online now"
	case TraceStopped:
		s := "Stop"
		if r.TerminateCause != "" {
			s += " (" + r.TerminateCause + ")"
		}
		if r.CloseReason != "" && r.CloseReason != CloseStop {
			s += ", after " + r.CloseReason
		}
		return s
	}
	why := r.CloseReason
	if why == "" {
		why = "closed"
	}
	return "no Stop (" + why + "): counted to the last Interim-Update"
}

// ErrBadTime reports a time an operator typed that ParseOperatorTime
// cannot read.
var ErrBadTime = errors.New("access: bad time")

// ParseOperatorTime reads a time typed by an operator, in the campus zone
// loc unless it carries its own offset:
//
//	2026-12-02 14:05           (also 14:05:30, and "T" for the space)
//	2026-12-02T14:05:00+08:00  (RFC 3339: its own offset)
//	yesterday 14:05, today 14:05
//	2026-12-02                 (midnight)
//	now
//
// now is the clock "yesterday" and "today" count from.
func ParseOperatorTime(s string, loc *time.Location, now time.Time) (time.Time, error) {
	t := strings.Join(strings.Fields(s), " ")
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("%w: %q: write it like \"2026-12-02 14:05\", \"2026-12-02T14:05:00+08:00\" or \"yesterday 14:05\"", ErrBadTime, s)
	}
	if t == "" || !PlainText(t) {
		return bad()
	}
	lower := strings.ToLower(t)
	if lower == "now" {
		return now.In(loc), nil
	}
	for word, days := range map[string]int{"yesterday": -1, "today": 0, "昨天": -1, "今天": 0} {
		rest, ok := strings.CutPrefix(lower, word)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		var clock time.Time
		var err error
		for _, layout := range []string{"15:04", "15:04:05"} {
			if clock, err = time.Parse(layout, rest); err == nil {
				break
			}
		}
		if err != nil {
			return bad()
		}
		d := now.In(loc).AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), clock.Hour(), clock.Minute(), clock.Second(), 0, loc), nil
	}
	if v, err := time.Parse(time.RFC3339, t); err == nil {
		return v.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.ParseInLocation(layout, t, loc); err == nil {
			return v, nil
		}
	}
	return bad()
}

// TraceRecord is a TraceRow as the CLI's JSON, the operators' API and the
// CSV download give it: times in RFC 3339 with the campus zone's offset,
// traffic in octets.
type TraceRecord struct {
	Session        int64  `json:"session"`
	Account        string `json:"account"`
	Name           string `json:"name"`
	Role           Role   `json:"role"`
	MAC            string `json:"mac"`
	IPv4           string `json:"ipv4"`
	IPv6           string `json:"ipv6"`           // Framed-IPv6-Address (or the prefix with Framed-Interface-Id)
	IPv6Prefix     string `json:"ipv6_prefix"`    // Framed-IPv6-Prefix
	IPv6Delegated  string `json:"ipv6_delegated"` // Delegated-IPv6-Prefix
	BAS            string `json:"bas"`
	NASPort        string `json:"nas_port"`
	Area           string `json:"area"`
	Start          string `json:"start"`
	Until          string `json:"until"`
	End            string `json:"end"` // stop, no_stop, online
	EndText        string `json:"end_text"`
	CloseReason    string `json:"close_reason"`
	TerminateCause string `json:"terminate_cause"`
	InputOctets    int64  `json:"input_octets"`
	OutputOctets   int64  `json:"output_octets"`
}

// Record is the row in loc, the campus zone.
func (r TraceRow) Record(loc *time.Location) TraceRecord {
	t := func(ms int64) string { return FromMillis(ms).In(loc).Format(time.RFC3339) }
	return TraceRecord{Session: r.ID, Account: r.Username, Name: r.Name, Role: r.Role, MAC: r.MAC, IPv4: r.IP,
		IPv6: r.IP6, IPv6Prefix: r.IP6Prefix, IPv6Delegated: r.IP6Delegated, BAS: r.NAS,
		NASPort: r.NASPort, Area: r.Area, Start: t(r.StartedAt), Until: t(r.Until), End: r.End, EndText: r.EndText(),
		CloseReason: r.CloseReason, TerminateCause: r.TerminateCause, InputOctets: r.InputOctets, OutputOctets: r.OutputOctets}
}

// TraceCSVHeader is the header row of a trace's CSV; TraceRecord.CSV
// gives the rows.
var TraceCSVHeader = []string{"account", "name", "role", "mac", "ipv4", "ipv6", "ipv6_prefix", "ipv6_delegated", "bas", "nas_port", "area", "start", "until",
	"ended", "input_octets", "output_octets", "session"}

// CSV is the record as a CSV row under TraceCSVHeader (times as
// "2026-12-02 14:05:00 +08:00", which a spreadsheet shows as written).
func (r TraceRecord) CSV() []string {
	t := func(s string) string {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		return v.Format("2006-01-02 15:04:05 -07:00")
	}
	c := csvText
	return []string{c(r.Account), c(r.Name), c(string(r.Role)), c(r.MAC), c(r.IPv4), r.IPv6, r.IPv6Prefix, r.IPv6Delegated, c(r.BAS), c(r.NASPort), c(r.Area), t(r.Start), t(r.Until),
		c(r.EndText), strconv.FormatInt(r.InputOctets, 10), strconv.FormatInt(r.OutputOctets, 10), strconv.FormatInt(r.Session, 10)}
}

// csvText keeps a text cell from being read as a formula by a
// spreadsheet (a name written "=HYPERLINK(…)" in a roster): a leading =, +,
// -, @, tab or CR gets an apostrophe before it (OWASP's CSV injection
// advice).
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// UTF8BOM starts a trace's CSV so that a spreadsheet (Excel, WPS) reads it
// as UTF-8 and shows Chinese names intact.
const UTF8BOM = "\ufeff"
