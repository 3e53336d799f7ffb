package access

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors shared by the store and the services.
var (
	ErrNotFound = errors.New("access: not found")
	ErrConflict = errors.New("access: conflict")
	ErrInvalid  = errors.New("access: invalid input")
)

// Fen is an amount of money in fen (1 yuan = 100 fen). Money is never a float.
type Fen int64

// String formats an amount in yuan with two decimals, as people read it ("12.50").
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Class is the device class an account's limits are counted in
// (docs/design.md#device-classes).
type Class string

// Device classes. A device of class unknown (no signal was good enough)
// counts as its area says (Area.UnknownAs, default pc).
const (
	ClassPC      Class = "pc"
	ClassMobile  Class = "mobile"
	ClassUnknown Class = "unknown"
)

// ClassLabel is a device class as pages show it, in Chinese and English.
func ClassLabel(class Class) string {
	switch class {
	case ClassPC:
		return "电脑 / PC"
	case ClassMobile:
		return "移动设备 / mobile"
	}
	return "未知 / unknown"
}

// SessionState is where a session is in its life. A reserved session is
// inserted in the same transaction as the Access-Accept; Accounting-Start
// makes it online; Stop, a reaper or a BAS reboot closes it.
type SessionState string

// Session states.
const (
	SessionReserved SessionState = "reserved"
	SessionOnline   SessionState = "online"
	SessionClosed   SessionState = "closed"
)

// LedgerKind says why a balance changed: every change is one ledger row of
// one kind.
type LedgerKind string

// Ledger kinds.
const (
	LedgerRecharge   LedgerKind = "recharge"
	LedgerCycleFee   LedgerKind = "cycle_fee"
	LedgerRefund     LedgerKind = "refund"
	LedgerAdjustment LedgerKind = "adjustment"
	// LedgerPack buys a traffic pack (reference "pack:<id>").
	LedgerPack LedgerKind = "pack"
	// LedgerTrafficFee charges one GB past a per-GB plan's allowance
	// (reference "traffic:<cycle id>:<n>", the n-th GB).
	LedgerTrafficFee LedgerKind = "traffic_fee"
	// LedgerPlanChange records a plan chosen for the next cycle; its amount
	// is 0.
	LedgerPlanChange LedgerKind = "plan_change"
)

// Role is a person's kind of account: it selects the areas they may use,
// whether they pay, and the NOC pages.
type Role string

// Roles.
const (
	RoleStudent  Role = "student"
	RoleStaff    Role = "staff"
	RoleOperator Role = "operator"
)

// Account is a person's network account.
type Account struct {
	ID             int64  `db:"id"`
	Username       string `db:"username"`
	Name           string `db:"name"`
	Role           Role   `db:"role"`
	PasswordHash   string `db:"password_hash"`
	MustChange     bool   `db:"must_change"`
	Disabled       bool   `db:"disabled"`
	DisabledReason string `db:"disabled_reason"`
	// DocFacts are the hashed facts of the person's identity document that
	// the password rules need (identity.DocumentFacts); "" when unknown.
	DocFacts string `db:"doc_facts"`
	// SSOProvider names the single sign-on provider ([identity.sso]) whose
	// first login created the account; "" for every other account. An
	// SSO account without a password hash has no network password.
	SSOProvider string `db:"sso_provider"`
	Balance     Fen    `db:"balance_fen"`
	CreatedAt   int64  `db:"created_at"` // unix milliseconds
	UpdatedAt   int64  `db:"updated_at"`
}

// Device is what campusnet knows of one (account, MAC).
type Device struct {
	ID         int64  `db:"id"`
	AccountID  int64  `db:"account_id"`
	MAC        string `db:"mac"` // canonical, NormalizeMAC
	Class      Class  `db:"class"`
	Signals    string `db:"signals"`
	Bound      bool   `db:"bound"` // allowed to MAC-authenticate (seamless login)
	BoundBy    string `db:"bound_by"`
	LastSeenAt int64  `db:"last_seen_at"`
	CreatedAt  int64  `db:"created_at"`
}

// Session is one device's stay on the network, from reservation to close.
type Session struct {
	ID             int64        `db:"id"`
	AccountID      int64        `db:"account_id"`
	Username       string       `db:"username"`
	NAS            string       `db:"nas"`
	Area           string       `db:"area"`
	MAC            string       `db:"mac"`
	IP             string       `db:"ip"`
	Class          Class        `db:"class"`
	Status         SessionState `db:"status"`
	AcctSessionID  string       `db:"acct_session_id"`
	Correlation    string       `db:"correlation"` // the Class attribute we send in Access-Accept
	ReservedAt     int64        `db:"reserved_at"`
	StartedAt      int64        `db:"started_at"`
	LastUpdateAt   int64        `db:"last_update_at"`
	StoppedAt      int64        `db:"stopped_at"`
	InputOctets    int64        `db:"input_octets"`
	OutputOctets   int64        `db:"output_octets"`
	TerminateCause string       `db:"terminate_cause"`
	CloseReason    string       `db:"close_reason"`
	// NASPort is where on the BAS the subscriber is: NAS-Port-Id as the
	// BAS wrote it ("slot=2;subslot=0;port=1;vlanid=1203"), else NAS-Port's
	// number; "" when the Start named neither.
	NASPort string `db:"nas_port"`
	// The IPv6 side of a dual-stack (or IPv6-only) session: what the BAS
	// reported in accounting (or the portal learnt), "" when nothing.
	IP6           string `db:"ip6"`           // Framed-IPv6-Address, or the prefix and Framed-Interface-Id together
	IP6Prefix     string `db:"ip6_prefix"`    // Framed-IPv6-Prefix, "2001:db8:1:2::/64"
	IP6IfID       string `db:"ip6_ifid"`      // Framed-Interface-Id, "0211:22ff:fe33:4455"
	IP6Delegated  string `db:"ip6_pd"`        // Delegated-IPv6-Prefix (a routed prefix, RFC 4818)
	InputOctets6  int64  `db:"input_octets6"` // the IPv6 part of InputOctets (vendor counters)
	OutputOctets6 int64  `db:"output_octets6"`
	// Profile is what the BAS applies to the session (docs/plans.md): set
	// from its Access-Accept and from each acknowledged CoA-Request.
	Profile Profile `db:"profile"`
}

// HasIPv6 reports whether the session has any IPv6 identifier.
func (s Session) HasIPv6() bool {
	return s.IP6 != "" || s.IP6Prefix != "" || s.IP6Delegated != ""
}

// IPv4Octets are the session's IPv4 traffic in and out: the BAS's
// counters less their IPv6 part (the standard counters cover both
// families on the BASes whose IPv6 counters campusnet reads), never below
// zero.
func (s Session) IPv4Octets() (in, out int64) {
	return max(0, s.InputOctets-s.InputOctets6), max(0, s.OutputOctets-s.OutputOctets6)
}

// Millis converts a time to the unix milliseconds the store keeps.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the inverse of Millis; 0 is the zero time.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// FormatBytes is n bytes (a session's octets) as people read them: B, then
// KiB, MiB, GiB and TiB with one decimal. The portal's status page and
// self-service show traffic with it.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + [...]string{"KiB", "MiB", "GiB", "TiB"}[i]
}

// DirectoryAccount is the network account made for a directory (LDAP)
// person at their first login, through whichever door they come (the
// portal, RADIUS or self-service): their id and name, their directory role,
// or RoleStudent when the directory gives none. It has no password (the
// directory checks it) and no balance.
func DirectoryAccount(id, name string, role Role) Account {
	if role == "" {
		role = RoleStudent
	}
	return Account{Username: id, Name: name, Role: role}
}

// SSOAccount is the network account made at a person's first single
// sign-on login: the directory rule (DirectoryAccount), with the
// provider's role, and the provider recorded. It has no password.
func SSOAccount(provider, id, name string, role Role) Account {
	a := DirectoryAccount(id, name, role)
	a.SSOProvider = provider
	return a
}

// UsesSSOOnly reports whether the account logs in by single sign-on only:
// made by an SSO login and never given a password.
func (a Account) UsesSSOOnly() bool { return a.SSOProvider != "" && a.PasswordHash == "" }

// SSOState is one single sign-on login under way: made when the person
// leaves for the provider, consumed once when they come back. ID is the
// SHA-256 of the random state value (the database never holds the value
// itself); Browser the SHA-256 of the random cookie of the browser that
// left, so that a state handed to another browser is refused.
type SSOState struct {
	ID        string `db:"id"`
	Provider  string `db:"provider"`
	Purpose   string `db:"purpose"` // "portal" or "selfservice"
	Browser   string `db:"browser"`
	Nonce     string `db:"nonce"`    // OIDC nonce
	Verifier  string `db:"verifier"` // OIDC PKCE code verifier
	Payload   string `db:"payload"`  // what the flow carries back (the BAS redirect parameters)
	CreatedAt int64  `db:"created_at"`
	ExpiresAt int64  `db:"expires_at"`
	UsedAt    int64  `db:"used_at"`
}

// ClassMessage is the catalogue id of a device class's label on pages
// ("access.class.pc"), which speak one language (see messages.go).
func ClassMessage(class Class) string {
	switch class {
	case ClassPC:
		return "access.class.pc"
	case ClassMobile:
		return "access.class.mobile"
	}
	return "access.class.unknown"
}
