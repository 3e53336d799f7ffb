package access

// NASSeen is a BAS as the RADIUS server last heard from it.
type NASSeen struct {
	Name          string `db:"name"`
	IP            string `db:"ip"`
	Area          string `db:"area"`
	LastRequestAt int64  `db:"last_request_at"`
}

// NASActivity is what the store knows of one BAS: the last request RADIUS
// saw from it and its live (reserved or online) sessions.
type NASActivity struct {
	Name          string `db:"name"`
	IP            string `db:"ip"`
	Area          string `db:"area"`
	LastRequestAt int64  `db:"last_request_at"`
	Online        int64  `db:"online"`
	Reserved      int64  `db:"reserved"`
}

// Who bound a device, besides an operator's name.
const (
	BoundByPortal = "portal" // a portal login in a seamless area
)
