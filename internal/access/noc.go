package access

// The NOC home's counts (internal/store, selfservice).

// OnlineCount is how many sessions are online in an area at a BAS.
type OnlineCount struct {
	Area   string `db:"area"`
	NAS    string `db:"nas"`
	Online int64  `db:"n"`
}

// AuthCount is how many authentications had a result and reason.
type AuthCount struct {
	Result string `db:"result"`
	Reason string `db:"reason"`
	N      int64  `db:"n"`
}

// HourCount is a count in one hour of a window: Hour 0 is the hour that
// starts at the window's start.
type HourCount struct {
	Key  string `db:"k"`
	Hour int    `db:"h"`
	N    int64  `db:"n"`
}
