package selfservice

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/identity"
)

// The NOC home (GET /admin) and "find anyone" (GET /admin?q=…).

// reTail is a document number's last six characters as the desk types
// them; rePhone a phone number (digits, spaces, dashes, a leading +).
var (
	reTail  = regexp.MustCompile(`^[0-9A-Za-z]{6}$`)
	rePhone = regexp.MustCompile(`^\+?[0-9][0-9 -]{4,22}$`)
)

// findQuery reads what the operator typed as every kind of key it can be:
// a user name or a name always; an address, a MAC in any common notation,
// a phone number, a document tail when it looks like one. A 12-digit
// student number is also a MAC in bare hex: both are searched.
func findQuery(term string) access.FindQuery {
	q := access.FindQuery{Text: term}
	if a, err := netip.ParseAddr(term); err == nil {
		q.IP = a.Unmap().String()
	}
	if mac, err := access.NormalizeMAC(term); err == nil {
		q.MAC = mac
	}
	if rePhone.MatchString(term) {
		q.Phone = term
	}
	if reTail.MatchString(term) {
		tail := strings.ToUpper(term)
		q.DocTail = access.DocumentTailHash(tail)
		q.DocFacts = func(user, facts string) bool { return identity.FactsHaveTail(user, facts, tail) }
	}
	return q
}

// phoneForms are the spellings of a phone number searched, without spaces
// and dashes (the store compares the stored numbers so): the digits, and
// with and without the +86 / 0086 country code.
func phoneForms(p string) []string {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(p)
	forms := []string{digits}
	for _, cc := range []string{"+86", "0086"} {
		if rest, ok := strings.CutPrefix(digits, cc); ok {
			forms = append(forms, rest)
		}
	}
	if len(digits) == 11 && strings.HasPrefix(digits, "1") {
		forms = append(forms, "+86"+digits)
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// find runs the search: one store lookup per phone spelling, merged.
func (s *Service) find(ctx context.Context, term string) ([]access.Found, access.FindQuery, error) {
	q := findQuery(term)
	phones := []string{""}
	if q.Phone != "" {
		phones = phoneForms(q.Phone)
	}
	var out []access.Found
	seen := map[string]bool{}
	for i, p := range phones {
		qq := q
		qq.Phone = p
		if i > 0 { // the other keys once
			qq = access.FindQuery{Phone: p}
		}
		found, err := s.st.FindAccounts(ctx, qq, 50)
		if err != nil {
			return nil, q, err
		}
		for _, f := range found {
			k := f.Match + "\x00" + f.Account.Username
			if f.Session.ID != 0 || !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	order := []string{access.FoundAccount, access.FoundAddress, access.FoundMAC, access.FoundPhone, access.FoundDocument, access.FoundPrefix, access.FoundName}
	slices.SortStableFunc(out, func(a, b access.Found) int { return slices.Index(order, a.Match) - slices.Index(order, b.Match) })
	return out, q, nil
}

// matchMessage is the catalogue id of a match kind.
func matchMessage(kind string) string { return "selfservice.noc.match." + kind }

func (s *Service) adminSearch(w http.ResponseWriter, r *http.Request, q *request) error {
	term, err := outsideText(r.URL.Query().Get("q"), maxSearchLen)
	if err != nil {
		return badField("selfservice.input.field.search")
	}
	if term == "" {
		return s.nocHome(w, r, q)
	}
	found, fq, err := s.find(r.Context(), term)
	if err != nil {
		return err
	}
	kind, result := "text", "none"
	switch {
	case fq.IP != "":
		kind = "address"
	case fq.MAC != "":
		kind = "mac"
	case fq.DocTail != "":
		kind = "document"
	case fq.Phone != "":
		kind = "phone"
	}
	if len(found) > 0 {
		result = "found"
	}
	s.metrics.searches.WithLabelValues(kind, result).Inc()
	if len(found) == 1 && found[0].Match == access.FoundAccount {
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(found[0].Account.Username), http.StatusSeeOther)
		return nil
	}
	trace := ""
	if fq.IP != "" || fq.MAC != "" {
		key := fq.IP
		if key == "" {
			key = fq.MAC
		}
		trace = "/admin/trace?addr=" + url.QueryEscape(key)
	}
	s.render(w, r, http.StatusOK, "admin_search", q, "selfservice.title.find_user", struct {
		Query    string
		Found    []access.Found
		TraceURL string
	}{term, found, trace})
	return nil
}

// countRow is one line of a "how many" table.
type countRow struct {
	Key   string // an area's or BAS's name, a reason code
	Label string // what the page prints
	N     int64
}

// nocHomeData is the NOC home page.
type nocHomeData struct {
	Query       string // the search box: empty on the home page
	OnlineTotal int64
	ByArea      []countRow
	ByNAS       []countRow
	Accepts     []countRow
	Refusals    []countRow
	AcceptN     int64
	RefusalN    int64
	Nodes       []nodeView // stale or stopped ones
	NodesUp     int
	Online      barChart
	Refused     barChart
	Zone        string // "+08:00 Asia/Shanghai"
	At          int64
	// Plans is the last 30 days' traffic by plan (plan.go).
	Plans barChart
}

// nocHours is the NOC home's chart window: the last 24 hours, the current
// one included.
const nocHours = 24

func (s *Service) nocHome(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	l := i18n.For(i18n.Negotiate(r))
	now := s.now()
	loc := s.cfg.Location
	d := nocHomeData{At: access.Millis(now), Zone: now.In(loc).Format("-07:00") + " " + loc.String()}

	online, err := s.st.OnlineNow(ctx)
	if err != nil {
		return err
	}
	areas, nas := map[string]int64{}, map[string]int64{}
	for _, o := range online {
		areas[o.Area] += o.Online
		nas[o.NAS] += o.Online
		d.OnlineTotal += o.Online
	}
	d.ByArea = s.sortedCounts(areas, func(k string) string { return s.areaName(l, k) })
	d.ByNAS = s.sortedCounts(nas, func(k string) string { return k })

	auth, err := s.st.AuthSince(ctx, access.Millis(now.Add(-time.Hour)))
	if err != nil {
		return err
	}
	for _, a := range auth {
		row := countRow{Key: a.Reason, Label: a.Reason, N: a.N}
		if a.Result == "accept" {
			d.Accepts, d.AcceptN = append(d.Accepts, row), d.AcceptN+a.N
		} else {
			d.Refusals, d.RefusalN = append(d.Refusals, row), d.RefusalN+a.N
		}
	}

	nodes, err := s.st.PortalNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		v := nodeView{PortalNode: n, Age: now.Sub(access.FromMillis(n.HeartbeatAt)).Truncate(time.Second)}
		v.Stopped = n.StoppedAt != 0
		v.Stale = !v.Stopped && (n.HeartbeatAt == 0 || v.Age > s.cfg.NodeStale)
		if v.Stale || v.Stopped {
			d.Nodes = append(d.Nodes, v)
		} else {
			d.NodesUp++
		}
	}

	// The window: whole campus-local hours, the current one last.
	t := now.In(loc)
	first := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc).Add(-(nocHours - 1) * time.Hour)
	from := access.Millis(first)
	labels := make([]string, nocHours)
	for i := range labels {
		labels[i] = first.Add(time.Duration(i) * time.Hour).In(loc).Format("15:04")
	}
	perArea, err := s.st.OnlinePerHour(ctx, from, access.Millis(now), nocHours)
	if err != nil {
		return err
	}
	refused, err := s.st.RefusalsPerHour(ctx, from, nocHours)
	if err != nil {
		return err
	}
	head, total := l.T("selfservice.chart.hour"), l.T("selfservice.chart.total")
	d.Online = barChart{ID: "chart-online", Title: l.T("selfservice.noc.chart_online"), Labels: labels, Every: 3, Head: head, TotalHead: total,
		Series: hourSeries(perArea, func(k string) string { return s.areaName(l, k) })}
	d.Online.Desc = l.T("selfservice.noc.chart_online_desc", d.Zone) + " " + peakText(l, d.Online)
	d.Refused = barChart{ID: "chart-refused", Title: l.T("selfservice.noc.chart_refused"), Labels: labels, Every: 3, Head: head, TotalHead: total,
		Series: hourSeries(refused, func(k string) string { return k })}
	d.Refused.Desc = l.T("selfservice.noc.chart_refused_desc", d.Zone) + " " + peakText(l, d.Refused)
	if d.Plans, err = s.trafficByPlan(ctx, l); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "admin_home", q, "selfservice.noc.title", d)
	return nil
}

// sortedCounts is m as rows, largest first.
func (s *Service) sortedCounts(m map[string]int64, label func(string) string) []countRow {
	var rows []countRow
	for k, n := range m {
		rows = append(rows, countRow{Key: k, Label: label(k), N: n})
	}
	slices.SortFunc(rows, func(a, b countRow) int {
		if a.N != b.N {
			return int(b.N - a.N)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return rows
}

// hourSeries turns per-hour counts into one series per key, the key with
// the most first.
func hourSeries(counts []access.HourCount, label func(string) string) []chartSeries {
	byKey := map[string][]int64{}
	sums := map[string]int64{}
	for _, c := range counts {
		if c.Hour < 0 || c.Hour >= nocHours {
			continue
		}
		if byKey[c.Key] == nil {
			byKey[c.Key] = make([]int64, nocHours)
		}
		byKey[c.Key][c.Hour] += c.N
		sums[c.Key] += c.N
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if sums[a] != sums[b] {
			return int(sums[b] - sums[a])
		}
		return strings.Compare(a, b)
	})
	out := make([]chartSeries, len(keys))
	for i, k := range keys {
		out[i] = chartSeries{Label: label(k), Values: byKey[k]}
	}
	return out
}

// peakText says where the chart is highest, for its description.
func peakText(l *i18n.Printer, c barChart) string {
	best := -1
	for i := range c.Labels {
		if best < 0 || c.Total(i) > c.Total(best) {
			best = i
		}
	}
	if best < 0 || c.Total(best) == 0 {
		return l.T("selfservice.chart.none")
	}
	return l.T("selfservice.chart.peak", c.format(c.Total(best)), c.Labels[best])
}

// traffic is the student's traffic per day of the current cycle (or of
// the last 30 days without one), from usage_days: download is what the
// BAS sent to the student (Acct-Output-Octets), upload what it received.
type traffic struct {
	From, To         string   // campus days
	Days             []string // every day From…To, as the chart's bars
	Chart            barChart
	Download, Upload int64
}

func (s *Service) traffic(ctx context.Context, l *i18n.Printer, acc access.Account, ov overview) (traffic, error) {
	loc := s.cfg.Location
	t := s.now().In(loc)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	start := today.AddDate(0, 0, -29)
	for _, a := range ov.Areas {
		if a.Active {
			c := access.FromMillis(a.Cycle.StartedAt).In(loc)
			start = time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, loc)
			break
		}
	}
	if start.After(today) || today.Sub(start) > 62*24*time.Hour {
		start = today.AddDate(0, 0, -29)
	}
	tr := traffic{From: start.Format(time.DateOnly), To: today.Format(time.DateOnly)}
	days, err := s.st.UsageDays(ctx, acc.ID, tr.From, tr.To)
	if err != nil {
		return tr, err
	}
	byDay := map[string]access.UsageDay{}
	for _, d := range days {
		byDay[d.Day] = d
	}
	var labels []string
	down, up := chartSeries{Label: l.T("selfservice.traffic.download")}, chartSeries{Label: l.T("selfservice.traffic.upload")}
	for d := start; !d.After(today); d = d.AddDate(0, 0, 1) {
		u := byDay[d.Format(time.DateOnly)]
		labels = append(labels, d.Format("01-02"))
		tr.Days = append(tr.Days, d.Format(time.DateOnly))
		down.Values = append(down.Values, u.OutputOctets)
		up.Values = append(up.Values, u.InputOctets)
		tr.Download += u.OutputOctets
		tr.Upload += u.InputOctets
	}
	tr.Chart = barChart{ID: "chart-traffic", Title: l.T("selfservice.traffic.chart", tr.From, tr.To), Labels: labels,
		Series: []chartSeries{down, up}, Format: access.FormatBytes, Binary: true, Every: max(1, len(labels)/6),
		Head: l.T("selfservice.chart.day"), TotalHead: l.T("selfservice.chart.total")}
	tr.Chart.Desc = l.T("selfservice.traffic.desc", access.FormatBytes(tr.Download), access.FormatBytes(tr.Upload)) + " " + peakText(l, tr.Chart)
	return tr, nil
}
