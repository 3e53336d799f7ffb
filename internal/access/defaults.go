package access

import (
	"time"
	_ "time/tzdata" // the campus zone loads on a machine without /usr/share/zoneinfo
)

// The defaults of rules that the configuration and the services share: the
// configuration file fills a key left out with these, and a service given a
// zero value (a test, a command that builds its own) takes the same.
const (
	// DefaultInterimInterval is the Acct-Interim-Interval asked of a BAS.
	DefaultInterimInterval = 300 * time.Second
	// DefaultReserveTimeout is how long an Access-Accept's reservation
	// waits for its Accounting-Start before the reaper frees it.
	DefaultReserveTimeout = 60 * time.Second
	// DefaultBatchGather bounds how long a RADIUS group commit waits for
	// the requesters of the last batch to come back.
	DefaultBatchGather = 2 * time.Millisecond
	// DefaultTokenTTL is how long the portal's one-time login token is
	// good for: the BAS must present it in an Access-Request by then.
	DefaultTokenTTL = 60 * time.Second
	// DefaultMaxBound is how many MACs one account may bind for seamless
	// login in an area that does not say.
	DefaultMaxBound = 8
	// DefaultCycle is the length of a billing cycle.
	DefaultCycle = 30 * 24 * time.Hour
	// DefaultSettleInterval is how often billing settles due cycles.
	DefaultSettleInterval = time.Minute
	// DefaultTimezone is the campus time zone ([server] timezone): the
	// zone times are printed in and operators' times are read in.
	DefaultTimezone = "Asia/Shanghai"
)

// defaultLocation is DefaultTimezone loaded once (the zone database is
// compiled in, so it cannot be missing).
var defaultLocation = func() *time.Location {
	loc, err := time.LoadLocation(DefaultTimezone)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// DefaultLocation is the campus time zone of a service given none.
func DefaultLocation() *time.Location { return defaultLocation }
