package config

import (
	"strings"
	"testing"
	"time"
)

// meter_interval accepts a short interval for tests and the demo (down to
// 100ms) and refuses less, naming the key.
func TestMeterInterval(t *testing.T) {
	for _, ok := range []struct {
		text string
		want time.Duration
	}{{"", 30 * time.Second}, {"[billing]\nmeter_interval = \"200ms\"\n", 200 * time.Millisecond}, {"[billing]\nmeter_interval = \"100ms\"\n", 100 * time.Millisecond}} {
		c, err := Parse(ok.text, "m.toml")
		if err != nil || c.Billing.MeterInterval.Duration != ok.want {
			t.Fatalf("%q: %v %v", ok.text, c, err)
		}
	}
	for _, bad := range []string{"99ms", "1ns"} {
		_, err := Parse("[billing]\nmeter_interval = \""+bad+"\"\n", "m.toml")
		if err == nil || !strings.Contains(err.Error(), "billing.meter_interval") || !strings.Contains(err.Error(), "100ms") {
			t.Fatalf("meter_interval %s: %v", bad, err)
		}
	}
}
