// Package bas simulates a BAS (broadband access server, BRAS or wireless
// controller) for tests, demos and load: the RADIUS client side
// (Access-Request by PAP, CHAP or MAC authentication; Accounting Start,
// Interim-Update and Stop), a Disconnect-Request listener (RFC 5176) that
// answers ACK or, when told to, NAK, and the session table a real BAS keeps.
// The Portal-protocol side lives in portal*.go.
package bas
