// Package portal is the captive portal a student meets at http://1.1.1.1
// (docs/design.md): the login page a BAS redirects to, the one-time login
// token handed to the BAS over the Portal protocol instead of the password,
// the result pages that say what to do about a refusal, logout and status,
// the answers to the operating systems' captive-portal probes and the RFC
// 8908 API, and the node heartbeat behind "网络信息中心-X".
//
// The portal checks the password against unified identity itself; the BAS
// and RADIUS only ever see a 60-second single-use token (internal/logintoken).
// RADIUS decides accept or refuse and writes the reason to the auth log; the
// portal reads the reason of its token back from there, so the page, the
// BAS's Reply-Message and self-service say the same thing.
package portal
