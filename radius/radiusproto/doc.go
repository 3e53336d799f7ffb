// Package radiusproto is the RADIUS protocol as campusnet speaks it, on
// layeh.com/radius's packet codec, with what that library lacks done here:
// the UDP Server for authentication and accounting with Status-Server
// (RFC 5997) and a reply cache for retransmissions (RFC 5080); the wire
// checks — Message-Authenticator verified on requests and sent first in every
// Access-Accept/Reject (BlastRADIUS, CVE-2024-3596), request and response
// authenticators checked on the raw bytes, CHAP; the Client; and the
// Disconnect-Request (RFC 5176) client (CoAClient) and listener
// (ListenDisconnect). It imports only the standard library and
// layeh.com/radius; the AAA service that decides requests is package radius,
// and docs/protocols.md describes the protocol as campusnet uses it.
package radiusproto
