// Package radius is campusnet's RADIUS AAA service: it decides each
// Access-Request in one store transaction, records accounting, reaps stale
// sessions and disconnects sessions at their BAS (RFC 5176). The protocol
// itself — UDP server, wire checks, reply cache, client, Disconnect client —
// is package radius/radiusproto; docs/protocols.md describes both sides.
//
// The stages of an Access-Request, in order:
//
//  1. Read. radiusproto.Server.readLoop reads the datagram from the
//     authentication port (radiusproto/server.go).
//  2. Admit. Server.admit finds the BAS by source address, checks the
//     authenticators and the Message-Authenticator on the raw bytes
//     (verifyRequest, radiusproto/wire.go), answers Status-Server, and
//     sends the cached reply to a retransmission (dedupe,
//     radiusproto/dedupe.go).
//  3. Credentials. Service.ServeAccess, or Service.ServeAccessAsync for MAC
//     authentication, checks what needs no account lock: the portal's
//     one-time token, the password against unified identity, or the MAC
//     (Service.credentials, newAttempt; access.go). A refusal here is
//     answered at once.
//  4. Group commit. The attempt joins a batch (groupCommit.do or submit,
//     groupcommit.go); Service.decideBatch hands the batch to
//     store.AAA.AuthorizeLogins (internal/store/radius.go), which locks the
//     accounts, reads devices, live sessions and cycles, and commits once.
//  5. Decision. Inside that transaction, Service.decide applies the policy
//     for each attempt in turn: device limits, replacement of the oldest
//     session, bindings, reservations (access.go).
//  6. Reply. Service.accessDone builds the Access-Accept (accept, with rate
//     limits) or Access-Reject (rejectMessage) and starts the disconnection
//     of replaced sessions (Service.replaced, disconnect.go); the Server
//     encodes it with the Message-Authenticator first, caches it for
//     retransmissions and writes it (Server.complete, write; encodeReply in
//     radiusproto/wire.go).
//  7. Authentication log. The entry is written in the decision's
//     transaction when a token was used (access.LoginDecision.LogNow), and
//     otherwise handed to the batching writer (Service.logDecision,
//     authLogWriter; authlog.go).
//
// Accounting-Requests take stages 1 and 2, then Service.ServeAccounting
// (accounting.go) through their own group commit into
// store.AAA.RecordAccounting; the Accounting-Response goes out after the
// commit. Service.RunReaper (reaper.go) closes sessions whose BAS stopped
// reporting them.
package radius
