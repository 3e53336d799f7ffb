package access

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		5<<20 + 512<<10: "5.5 MiB", 3 << 30: "3.0 GiB", 2 << 40: "2.0 TiB", 4096 << 40: "4096.0 TiB",
	} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestParseOperatorTime: the forms an operator types, read in the campus
// zone unless they carry an offset; anything else is refused with the forms.
func TestParseOperatorTime(t *testing.T) {
	loc := DefaultLocation()
	now := time.Date(2026, 12, 3, 1, 30, 0, 0, loc) // just after midnight: yesterday is the 2nd
	want := time.Date(2026, 12, 2, 14, 5, 0, 0, loc)
	for _, s := range []string{"2026-12-02 14:05", "2026-12-02  14:05:00", "2026-12-02T14:05", "2026-12-02T14:05:00+08:00",
		"2026-12-02T06:05:00Z", "yesterday 14:05", "Yesterday 14:05:00", "昨天 14:05"} {
		got, err := ParseOperatorTime(s, loc, now)
		if err != nil || !got.Equal(want) || got.Location() != loc {
			t.Errorf("%q: %v %v, want %v", s, got, err, want)
		}
	}
	if got, err := ParseOperatorTime("today 01:00", loc, now); err != nil || !got.Equal(time.Date(2026, 12, 3, 1, 0, 0, 0, loc)) {
		t.Errorf("today: %v %v", got, err)
	}
	if got, err := ParseOperatorTime("2026-12-02", loc, now); err != nil || !got.Equal(time.Date(2026, 12, 2, 0, 0, 0, 0, loc)) {
		t.Errorf("a date: %v %v", got, err)
	}
	for _, s := range []string{"", "14:05", "2026-13-02 14:05", "yesterday", "yesterday 25:00", "12/02/2026 14:05", "2026-12-02 14:05\x00"} {
		if _, err := ParseOperatorTime(s, loc, now); !errors.Is(err, ErrBadTime) || !strings.Contains(err.Error(), "yesterday 14:05") {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestTraceCSV: a trace row's CSV cells keep Chinese names, print times
// with the offset, and never start a text cell with a formula.
func TestTraceCSV(t *testing.T) {
	loc := DefaultLocation()
	start := time.Date(2026, 12, 2, 13, 0, 0, 0, loc)
	r := TraceRow{Session: Session{ID: 7, Username: "=cmd|' /C calc'!A0", IP: "10.12.9.9", StartedAt: Millis(start), Status: SessionClosed,
		IP6: "2001:db8:1:2::10", IP6Prefix: "2001:db8:1:2::/64", IP6Delegated: "2001:db8:ff00:100::/56",
		CloseReason: CloseStop, LastUpdateAt: Millis(start.Add(time.Hour)), StoppedAt: Millis(start.Add(time.Hour))}, Name: "王小明"}
	FinishTraceRow(&r, start.Add(2*time.Hour))
	got := strings.Join(r.Record(loc).CSV(), "|")
	want := "'=cmd|' /C calc'!A0|王小明|||10.12.9.9|2001:db8:1:2::10|2001:db8:1:2::/64|2001:db8:ff00:100::/56||||2026-12-02 13:00:00 +08:00|2026-12-02 14:00:00 +08:00|Stop|0|0|7"
	if got != want {
		t.Fatalf("CSV cells\n got %s\nwant %s", got, want)
	}
}
