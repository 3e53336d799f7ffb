package access

// PortalNode is one portal process's heartbeat row: an operator
// told "the page said 网络信息中心-3" looks node 3 up by NodeID.
type PortalNode struct {
	NodeID      string `db:"node_id"`
	Address     string `db:"address"`
	Version     string `db:"version"`
	StartedAt   int64  `db:"started_at"`   // unix ms
	HeartbeatAt int64  `db:"heartbeat_at"` // unix ms
	// StoppedAt is when the node stopped cleanly (unix ms), 0 while it runs.
	StoppedAt int64 `db:"stopped_at"`
	// Recent counts (the node's last few minutes, as it last reported them).
	LoginsOK     int64 `db:"logins_ok"`
	LoginsFailed int64 `db:"logins_failed"`
	BASErrors    int64 `db:"bas_errors"`
}
