package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// Fixture helpers: what services' tests read or arrange in the database
// beyond the store's API, in one place instead of SQL in every test. Each
// fails the test on a database error, so an assertion never passes on a
// query that did not run.

// Device returns the account's device row for mac, failing the test if it
// does not exist.
func Device(t testing.TB, st *store.Store, accountID int64, mac string) access.Device {
	t.Helper()
	devs, err := st.DevicesByAccount(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.MAC == mac {
			return d
		}
	}
	t.Fatalf("account #%d has no device %s: %+v", accountID, mac, devs)
	return access.Device{}
}

// DevicesByMAC returns every device row for mac, whichever account.
func DevicesByMAC(t testing.TB, st *store.Store, mac string) []access.Device {
	t.Helper()
	var out []access.Device
	if err := st.DB().Select(&out, st.Rebind(`SELECT id, account_id, mac, class, signals, bound, bound_by, last_seen_at, created_at FROM devices WHERE mac = ?`), mac); err != nil {
		t.Fatal(err)
	}
	return out
}

// CountDevices is the number of device rows.
func CountDevices(t testing.TB, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, `SELECT COUNT(*) FROM devices`); err != nil {
		t.Fatal(err)
	}
	return n
}

// SetDeviceSignals sets the signals recorded for mac (as the portal's
// classifier would have).
func SetDeviceSignals(t testing.TB, st *store.Store, mac, signals string) {
	t.Helper()
	if _, err := st.DB().Exec(st.Rebind(`UPDATE devices SET signals = ? WHERE mac = ?`), signals, mac); err != nil {
		t.Fatal(err)
	}
}

// UsedLoginTokens is the number of used login tokens issued to ip.
func UsedLoginTokens(t testing.TB, st *store.Store, ip string) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, st.Rebind(`SELECT COUNT(*) FROM login_tokens WHERE ip = ? AND used_at > 0`), ip); err != nil {
		t.Fatal(err)
	}
	return n
}

// LoginTokenNonces returns the nonce of every login token.
func LoginTokenNonces(t testing.TB, st *store.Store) []string {
	t.Helper()
	var out []string
	if err := st.DB().Select(&out, `SELECT nonce FROM login_tokens`); err != nil {
		t.Fatal(err)
	}
	return out
}

// CloseSessionsByIP closes the sessions of ip with closeReason behind the
// accounting's back (a reaper, a lost Stop).
func CloseSessionsByIP(t testing.TB, st *store.Store, ip, closeReason string) {
	t.Helper()
	if _, err := st.DB().Exec(st.Rebind(`UPDATE sessions SET status = 'closed', close_reason = ? WHERE ip = ?`), closeReason, ip); err != nil {
		t.Fatal(err)
	}
}

// OnlineSession is a session as RADIUS records it after Accounting-Start.
type OnlineSession struct {
	Account   access.Account
	NAS, Area string
	MAC, IP   string
	Class     access.Class
	At        time.Time // reserved, started and last heard of
	// AcctSessionID is the BAS's Acct-Session-Id (default "acct-"+MAC).
	AcctSessionID string
}

// AddOnlineSession inserts an online session, as RADIUS does after
// Accounting-Start, and returns its id.
func AddOnlineSession(t testing.TB, st *store.Store, s OnlineSession) int64 {
	t.Helper()
	now := access.Millis(s.At)
	if s.AcctSessionID == "" {
		s.AcctSessionID = "acct-" + s.MAC
	}
	var id int64
	err := st.DB().QueryRowx(st.Rebind(`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status,
		acct_session_id, correlation, reserved_at, started_at, last_update_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'online', ?, ?, ?, ?, ?) RETURNING id`),
		s.Account.ID, s.Account.Username, s.NAS, s.Area, s.MAC, s.IP, s.Class, s.AcctSessionID, "corr-"+s.MAC+fmt.Sprint(now), now, now, now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TouchOnlineSessions marks every online session heard of at (an
// Interim-Update).
func TouchOnlineSessions(t testing.TB, st *store.Store, at time.Time) {
	t.Helper()
	if _, err := st.DB().Exec(st.Rebind(`UPDATE sessions SET last_update_at = ? WHERE status = 'online'`), access.Millis(at)); err != nil {
		t.Fatal(err)
	}
}

// Refusal is a refused login as RADIUS logs it.
type Refusal struct {
	Account               access.Account
	At                    time.Time
	NAS, MAC, IP, Method  string
	Reason, Message, Node string
}

// AddRefusal records a refused login in the auth log.
func AddRefusal(t testing.TB, st *store.Store, r Refusal) {
	t.Helper()
	_, err := st.DB().Exec(st.Rebind(`INSERT INTO auth_log (at, username, account_id, nas, mac, ip, method, result, reason, message, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'reject', ?, ?, ?)`),
		access.Millis(r.At), r.Account.Username, r.Account.ID, r.NAS, r.MAC, r.IP, r.Method, r.Reason, r.Message, r.Node)
	if err != nil {
		t.Fatal(err)
	}
}

// CountLedger is the number of ledger entries of kind.
func CountLedger(t testing.TB, st *store.Store, kind access.LedgerKind) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, st.Rebind(`SELECT COUNT(*) FROM ledger WHERE kind = ?`), kind); err != nil {
		t.Fatal(err)
	}
	return n
}
