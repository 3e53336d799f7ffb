// Package identity answers one question for the portal and the RADIUS
// server: is this user name and password right, and who is it?
//
// Two backends implement [Authenticator]:
//
//   - [Local] checks argon2id hashes kept in campusnet's own database
//     (reached through the small [LocalStore] interface). Every hash
//     records its own cost parameters in PHC string format, so the
//     parameters can be raised later: a hash below the configured
//     parameters is replaced at the person's next successful login.
//   - [LDAP] searches a unified-identity directory with a service account
//     and then binds as the person found, over a small pool of reused
//     connections, with optional LDAPS or StartTLS and a hard timeout.
//
// Both report failures with the same sentinels. [ErrBadCredentials] covers
// a wrong password and an unknown user alike — the person must not be able
// to tell them apart — while [ErrUnknownUser] (which is also an
// [ErrBadCredentials]) lets the log say which it was. [ErrUnavailable]
// means the backend could not be asked at all and the person should try
// again later; [ErrDisabled] means the account exists but may not log in;
// [ErrPasswordExpired] means the password was right but the directory no
// longer takes it (expired, or reset by an administrator and to be
// changed), so the person is sent to change it at unified identity.
// [ErrBusy] means the password could not be checked in time because too
// many are being checked: it is never a wrong password (RADIUS answers
// nothing, the portal shows a busy page).
//
// Every hash [Local] computes goes through a [Stage]: a bounded number at
// once, a bounded queue, and a check refused before hashing when it
// cannot be done by its context's deadline. In serve the stage hashes in
// a [ProcessHasher], a worker process at the lowest CPU priority, so the
// operating system serves everything else first.
package identity
