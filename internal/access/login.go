package access

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// LoginRequest is an Access-Request whose credentials were checked, waiting
// for the policy decision under its account's lock.
type LoginRequest struct {
	// Username names the account (token and password logins). With
	// MACAuth the account is the one MAC is bound to instead.
	Username string
	MACAuth  bool
	MAC      string // canonical, "" when the BAS sent none
	// TokenID is the portal token that proved the credentials: it is
	// marked used in the same transaction, and LoginState.TokenFresh says
	// whether it still was unused.
	TokenID int64
	NAS     string
	Area    string
	// Billed says the area charges a fee: LoginState.ActiveCycle is read.
	Billed bool
	IP     string
	Class  Class // device class: from the token, the device row, or unknown
	// IPv6 is what the Access-Request said of the IPv6 side; a new
	// reservation records it.
	IPv6 IPv6Record
	// Plans are the area's plans (Area.Plans), the default first; when set,
	// the account's plan choice there is read into LoginState.NextPlan and
	// NextFee. Empty for an area without plans: nothing more is read.
	Plans []Plan
}

// LoginState is what the decision of one LoginRequest reads. The account
// row is locked.
type LoginState struct {
	Now     time.Time
	Found   bool // the account exists (MAC authentication: the MAC is bound)
	Account Account
	// Devices are the account's device rows, plus the row that binds the
	// request's MAC to another account, if any.
	Devices []Device
	// Live are the account's reserved and online sessions in every area,
	// including reservations made for earlier requests of the same batch
	// (ID 0 until committed).
	Live []Session
	// ActiveCycle says the account has an active billing cycle in the
	// request's area.
	ActiveCycle bool
	// CyclePlan and CycleProfile are that cycle's plan and the profile its
	// traffic calls for (ProfileFull without an active cycle).
	CyclePlan    string
	CycleProfile Profile
	// NextPlan and NextFee are the plan the account's next cycle in the
	// request's area would run under (its choice, else the default: the
	// first of LoginRequest.Plans) and that plan's fee, which the balance
	// must cover for the area to open (docs/plans.md, Choosing a plan).
	// Both are zero when the request carries no plans: the area's own fee
	// applies.
	NextPlan string
	NextFee  Fen
	// TokenFresh says TokenID was unused (it is used now).
	TokenFresh bool
}

// LoginDecision is the policy's answer to one LoginRequest.
type LoginDecision struct {
	Accept bool
	// Session is the reservation to insert on accept; Correlation must be
	// set (NewCorrelation). Fields left empty are taken from the request.
	// Session.Profile is the profile the Access-Accept carries, recorded
	// on the reservation.
	Session Session
	// Plan is the plan whose slow rate a ProfileSlow accept carries.
	Plan string
	// Reuse is the correlation of one of Live's reservations to refresh
	// instead of inserting Session (the same MAC authenticating again).
	Reuse string
	// Close are sessions of Live to close as replaced.
	Close []Session
	// Bind binds the request's MAC to the account (class Session.Class,
	// bound by the portal), taking it from another account if needed;
	// Unbind names a MAC of the account to unbind first (the bound limit).
	Bind   bool
	Unbind string
	// Log is the authentication log entry. With LogNow it is written in
	// the same transaction (the portal reads a token's refusal right
	// after the reply); otherwise the caller queues it.
	Log    AuthLogEntry
	LogNow bool
}

// DecideFunc decides request i of a batch. It may be called more than once
// for the same request (a transaction retried), so it must have no effects
// outside its result.
type DecideFunc func(i int, st *LoginState) LoginDecision

// NewCorrelation returns a fresh session correlation value: what RADIUS
// sends as the Class attribute and the BAS echoes in accounting.
func NewCorrelation() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return "cn:" + base64.RawURLEncoding.EncodeToString(b[:])
}
