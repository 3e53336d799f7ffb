package access

import (
	"net/netip"
	"slices"
	"time"
)

// What an area does when an account is at its device limit (Area.OnLimit).
const (
	OnLimitReject        = "reject"         // refuse the new device
	OnLimitReplaceOldest = "replace_oldest" // take the oldest device of its class offline
)

// Area is a part of the campus with its own rules (a dorm network, teaching
// buildings, the wireless network): who may log in, how many devices, the
// fee, seamless login and the rate. It is the [[area]] of the configuration
// file as the services see it: amounts in fen, lengths as durations.
type Area struct {
	Name string
	// DisplayName and DisplayNameEN are the area's name on pages in
	// Chinese and in English ("宿舍区", "Dorms"); Name when not set.
	DisplayName, DisplayNameEN string
	// Roles may log in here; empty means every role.
	Roles []Role
	// MaxPC and MaxMobile count each account's live devices of a class;
	// 0 is no limit. OnLimit is OnLimitReject or OnLimitReplaceOldest.
	MaxPC, MaxMobile int
	OnLimit          string
	// UnknownAs is the class a device of unknown class counts as (ClassPC
	// unless configured).
	UnknownAs Class
	// Fee is charged per Cycle from the balance; 0 is free.
	Fee   Fen
	Cycle time.Duration
	// Seamless binds a portal login's MAC so that the device later logs in
	// by MAC authentication; MaxBound caps the MACs one account binds here.
	Seamless bool
	MaxBound int
	// RateUpKbps and RateDownKbps limit each session (kbit/s, 0 = no
	// limit), sent in Access-Accept as the BAS vendor's attributes.
	RateUpKbps, RateDownKbps int
	// Plans are the plans a student may choose here, the default first
	// (docs/plans.md). Empty: one flat plan of Fee and Cycle (DefaultPlan).
	// When set, Fee and Cycle are the default plan's.
	Plans []Plan
	// Arrears is ArrearsReject or ArrearsGarden: what a login whose
	// balance does not cover the cycle gets.
	Arrears string
}

// Billed reports whether the area charges a fee.
func (a Area) Billed() bool { return a.Fee > 0 }

// OpenTo reports whether people of role may log in here.
func (a Area) OpenTo(role Role) bool { return len(a.Roles) == 0 || slices.Contains(a.Roles, role) }

// Limited reports whether the area limits devices.
func (a Area) Limited() bool { return a.MaxPC > 0 || a.MaxMobile > 0 }

// BAS is one access device (BAS, BRAS, wireless controller) that sends
// RADIUS requests and, for portal logins, speaks the Portal protocol: the
// [[nas]] of the configuration file as the services see it.
type BAS struct {
	Name string
	// IP is the address its RADIUS requests come from, its NAS-IP and the
	// Portal protocol's BAS-IP.
	IP   netip.Addr
	Area string
	// Secret is the RADIUS shared secret. RequireMessageAuthenticator
	// drops Access-Requests without one (BlastRADIUS, CVE-2024-3596).
	Secret                      string
	RequireMessageAuthenticator bool
	// CoAPort is where it takes Disconnect-Requests (RFC 5176; 3799).
	CoAPort int
	// Vendor says which vendor attributes it understands for rate limits:
	// "huawei", "h3c", or "" (none sent).
	Vendor string
	// PortalAddr is host:port of its Portal protocol listener ("" when it
	// takes no portal logins), with the protocol's version (1 or 2), v2's
	// shared secret and the authentication the portal asks for ("chap" or
	// "pap").
	PortalAddr    string
	PortalVersion int
	PortalSecret  string
	PortalAuth    string
	// PortalIPv6 names the attribute of a user's IPv6 address in the
	// Portal protocol: "huawei" (User-IPv6) or "h3c" (UserIPv6-List).
	PortalIPv6 string
	// UserSubnets find the BAS of a person who typed the portal's address
	// by hand (no redirect parameters).
	UserSubnets []netip.Prefix
	// GardenFilterID is the Filter-Id of the restricted profile (walled
	// garden: portal, self-service and payment only) on this BAS: the
	// user group (Huawei) or user profile (H3C) configured there. ""
	// means the BAS has none: a session that should be restricted is
	// disconnected instead, and a login in arrears is refused.
	GardenFilterID string
	// SlowFilterID, when set, is sent as Filter-Id with a plan's slow rate
	// (a BAS that takes rates only from its own profiles); the vendor's
	// rate attributes are sent either way.
	SlowFilterID string
}

// Names is the area's name on pages in Chinese and in English: its display
// names, or its name where one is not set.
func (a Area) Names() (zh, en string) {
	zh, en = a.DisplayName, a.DisplayNameEN
	if zh == "" {
		zh = a.Name
	}
	if en == "" {
		en = a.Name
	}
	return zh, en
}
