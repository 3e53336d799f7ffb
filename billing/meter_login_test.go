package billing

import (
	"testing"

	"github.com/campusnet/campusnet/internal/access"
)

// A session's first reading starts at its cycle when the login opened the
// cycle just after the session's start was recorded; a session that began
// under no cycle long before keeps its start (that part is not counted).
func TestLoginStart(t *testing.T) {
	active := access.Cycle{ID: 1, StartedAt: 10_000, EndsAt: 99_000_000, Status: access.CycleActive}
	cases := []struct {
		name     string
		cs       []access.Cycle
		from, to int64
		want     int64
	}{
		{"covered", []access.Cycle{active}, 20_000, 30_000, 20_000},
		{"login opened the cycle", []access.Cycle{active}, 9_998, 30_000, 10_000},
		{"started long before", []access.Cycle{active}, 10_000 - MeterLoginSlack.Milliseconds() - 1, 30_000, 10_000 - MeterLoginSlack.Milliseconds() - 1},
		{"reading before the cycle", []access.Cycle{active}, 9_990, 9_995, 9_995},
		{"no cycle", nil, 5_000, 30_000, 5_000},
	}
	for _, c := range cases {
		if got := loginStart(c.cs, c.from, c.to); got != c.want {
			t.Errorf("%s: loginStart = %d, want %d", c.name, got, c.want)
		}
	}
}
