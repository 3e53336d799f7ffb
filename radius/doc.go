// Package radius is campusnet's RADIUS AAA server (DESIGN §2–§4, PROTOCOLS
// §5): authentication and accounting listeners on layeh.com/radius's packet
// codec, with what that library lacks done here — Message-Authenticator
// verified on requests and sent first in every Access-Accept/Reject
// (BlastRADIUS, CVE-2024-3596), Status-Server, a reply cache for
// retransmissions (RFC 5080) — plus the policy that decides each
// Access-Request in one transaction, accounting, the reaper of stale
// sessions, and the Disconnect-Request (RFC 5176) client.
package radius
