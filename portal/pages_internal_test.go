package portal

import (
	"testing"

	"github.com/campusnet/campusnet/internal/access"
)

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		5<<20 + 512<<10: "5.5 MiB", 3 << 30: "3.0 GiB", 2 << 40: "2.0 TiB", 4096 << 40: "4096.0 TiB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTrafficView: traffic is shown for an online session once the BAS
// has reported (Start or Interim-Update), never for a reservation.
func TestTrafficView(t *testing.T) {
	if v := newTrafficView(&access.Session{Status: access.SessionReserved, ReservedAt: 1}); v != nil {
		t.Fatalf("a reservation shows traffic: %+v", v)
	}
	v := newTrafficView(&access.Session{Status: access.SessionOnline, StartedAt: 1_800_000_000_000, InputOctets: 2048, OutputOctets: 1 << 30})
	if v == nil || v.Up != "2.0 KiB" || v.Down != "1.0 GiB" || v.AsOf == "" {
		t.Fatalf("online after a Start: %+v", v)
	}
}
