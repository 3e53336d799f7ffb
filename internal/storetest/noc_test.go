package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// TestFindAccounts: the NOC search finds a person by account, name prefix,
// phone, document tail (kept at import, or only in the hashed facts of an
// older import), a device's MAC and the address a live session holds; a
// user's % and _ match only themselves.
func TestFindAccounts(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rows := []access.ImportRow{
			{Username: "2024001", Name: "张三", Role: access.RoleStudent, Phone: "138 0013-8000", Hash: "h",
				DocType: "id_card", DocHash: "d1", DocTail: access.DocumentTailHash("11010519491231002X")},
			{Username: "2024002", Name: "张三丰", Role: access.RoleStudent, Hash: "h", DocType: "id_card", DocHash: "d2",
				DocFacts: identity.DocumentFacts("2024002", "110105194912310037", "")},
			{Username: "a_b", Name: "Ann", Role: access.RoleStudent, Hash: "h"},
			{Username: "axb", Name: "Axel", Role: access.RoleStudent, Hash: "h"},
		}
		if _, err := s.ImportAccounts(ctx, rows); err != nil {
			t.Fatal(err)
		}
		acc := func(u string) access.Account {
			a, err := s.AccountByUsername(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		if _, err := s.BindDevice(ctx, acc("a_b").ID, "02:00:00:00:00:aa", access.ClassPC, "test", "test", 8); err != nil {
			t.Fatal(err)
		}
		AddOnlineSession(t, s, OnlineSession{Account: acc("axb"), NAS: "n1", Area: "dorm", MAC: "02:00:00:00:00:bb", IP: "10.12.9.9", At: time.Now()})
		find := func(q access.FindQuery) []string {
			t.Helper()
			got, err := s.FindAccounts(ctx, q, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, f := range got {
				out = append(out, f.Match+":"+f.Account.Username)
			}
			return out
		}
		facts := func(tail string) func(string, string) bool {
			return func(u, f string) bool { return identity.FactsHaveTail(u, f, tail) }
		}
		for _, c := range []struct {
			q    access.FindQuery
			want []string
		}{
			{access.FindQuery{Text: "2024001"}, []string{"account:2024001"}},
			{access.FindQuery{Text: "2024"}, []string{"prefix:2024001", "prefix:2024002"}},
			{access.FindQuery{Text: "张三"}, []string{"name:2024001", "name:2024002"}},
			{access.FindQuery{Text: "张三丰"}, []string{"name:2024002"}},
			{access.FindQuery{Text: "a_b"}, []string{"account:a_b"}},
			{access.FindQuery{Text: "a_"}, []string{"prefix:a_b"}},
			{access.FindQuery{Text: "%"}, nil},
			{access.FindQuery{Phone: "13800138000"}, []string{"phone:2024001"}},
			{access.FindQuery{DocTail: access.DocumentTailHash("31002X"), DocFacts: facts("31002X")}, []string{"document:2024001"}},
			{access.FindQuery{DocTail: access.DocumentTailHash("310037"), DocFacts: facts("310037")}, []string{"document:2024002"}},
			{access.FindQuery{DocTail: access.DocumentTailHash("999999"), DocFacts: facts("999999")}, nil},
			{access.FindQuery{MAC: "02:00:00:00:00:aa"}, []string{"mac:a_b"}},
			{access.FindQuery{MAC: "02:00:00:00:00:bb"}, []string{"mac:axb"}},
			{access.FindQuery{IP: "10.12.9.9"}, []string{"address:axb"}},
			{access.FindQuery{IP: "10.12.9.8"}, nil},
		} {
			if got := find(c.q); !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.q, got, c.want)
			}
		}
	})
}

// TestNOCHomeCounts: online now by area and BAS, the last hour's
// authentications, and per hour of a window the sessions online during the
// hour and the refusals by reason.
func TestNOCHomeCounts(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		from := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		now := from.Add(3*time.Hour + 30*time.Minute) // in hour 3
		var accs []access.Account
		for i := range 4 {
			accs = append(accs, newAccount(t, s, fmt.Sprintf("noc-%d", i)))
		}
		ms := func(d time.Duration) int64 { return access.Millis(from.Add(d)) }
		add := func(a access.Account, area, nas string, start, stop time.Duration, status string) {
			t.Helper()
			stopped := int64(0)
			if status == "closed" {
				stopped = ms(stop)
			}
			_, err := s.DB().Exec(s.Rebind(`INSERT INTO sessions (account_id, username, nas, area, status, acct_session_id, correlation,
				started_at, last_update_at, stopped_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				a.ID, a.Username, nas, area, status, fmt.Sprint(start, a.ID), fmt.Sprint("c", start, a.ID), ms(start), ms(stop), stopped)
			if err != nil {
				t.Fatal(err)
			}
		}
		add(accs[0], "dorm", "bras-1", -2*time.Hour, 3*time.Hour, "online")                               // hours 0–3
		add(accs[1], "dorm", "bras-2", 90*time.Minute, 3*time.Hour, "online")                             // hours 1–3
		add(accs[2], "office", "bras-1", 10*time.Minute, 20*time.Minute, "closed")                        // hour 0
		add(accs[3], "dorm", "bras-1", -5*time.Hour, -1*time.Hour, "closed")                              // before the window
		add(accs[3], "office", "bras-1", 2*time.Hour+5*time.Minute, 2*time.Hour+10*time.Minute, "closed") // hour 2

		online, err := s.OnlineNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []access.OnlineCount{{Area: "dorm", NAS: "bras-1", Online: 1}, {Area: "dorm", NAS: "bras-2", Online: 1}}; !slices.Equal(online, want) {
			t.Errorf("online now: %v, want %v", online, want)
		}
		per, err := s.OnlinePerHour(ctx, ms(0), access.Millis(now), 4)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][4]int64{}
		for _, h := range per {
			v := got[h.Key]
			v[h.Hour] = h.N
			got[h.Key] = v
		}
		if want := map[string][4]int64{"dorm": {1, 2, 2, 2}, "office": {1, 0, 1, 0}}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("online per hour: %v, want %v", got, want)
		}

		for _, r := range []struct {
			at     time.Duration
			reason access.Reason
		}{{10 * time.Minute, access.ReasonArrears}, {70 * time.Minute, access.ReasonArrears}, {75 * time.Minute, access.ReasonBadCredentials},
			{3*time.Hour + 10*time.Minute, access.ReasonArrears}, {-time.Hour, access.ReasonArrears}} {
			AddRefusal(t, s, Refusal{Account: accs[0], At: from.Add(r.at), Reason: string(r.reason)})
		}
		if _, err := s.DB().Exec(s.Rebind(`INSERT INTO auth_log (at, username, result, reason) VALUES (?, 'noc-1', 'accept', 'OK')`), ms(3*time.Hour+20*time.Minute)); err != nil {
			t.Fatal(err)
		}
		refusals, err := s.RefusalsPerHour(ctx, ms(0), 4)
		if err != nil {
			t.Fatal(err)
		}
		rgot := map[string][4]int64{}
		for _, h := range refusals {
			v := rgot[h.Key]
			v[h.Hour] = h.N
			rgot[h.Key] = v
		}
		if want := map[string][4]int64{string(access.ReasonArrears): {1, 1, 0, 1}, string(access.ReasonBadCredentials): {0, 1, 0, 0}}; fmt.Sprint(rgot) != fmt.Sprint(want) {
			t.Errorf("refusals per hour: %v, want %v", rgot, want)
		}
		last, err := s.AuthSince(ctx, access.Millis(now.Add(-time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if want := []access.AuthCount{{Result: "accept", Reason: "OK", N: 1}, {Result: "reject", Reason: string(access.ReasonArrears), N: 1}}; !slices.Equal(last, want) {
			t.Errorf("last hour: %v, want %v", last, want)
		}
	})
}
