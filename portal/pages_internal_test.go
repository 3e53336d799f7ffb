package portal

import (
	"testing"

	"github.com/campusnet/campusnet/internal/access"
)

// TestTrafficView: traffic is shown for an online session once the BAS
// has reported (Start or Interim-Update), never for a reservation.
func TestTrafficView(t *testing.T) {
	if v := newTrafficView(&access.Session{Status: access.SessionReserved, ReservedAt: 1}, access.DefaultLocation()); v != nil {
		t.Fatalf("a reservation shows traffic: %+v", v)
	}
	v := newTrafficView(&access.Session{Status: access.SessionOnline, StartedAt: 1_800_000_000_000, InputOctets: 2048, OutputOctets: 1 << 30}, access.DefaultLocation())
	if v == nil || v.Up != "2.0 KiB" || v.Down != "1.0 GiB" || v.AsOf != "2027-01-15 16:00 +08:00" {
		t.Fatalf("online after a Start: %+v", v)
	}
}
