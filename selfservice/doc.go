// Package selfservice is the self-service site (selfaaa) of campusnet: the
// pages and JSON API where a student checks the balance and the billing
// cycle, reads the ledger, sees and unbinds devices, takes a session
// offline, registers a device without a browser and reads why a login was
// refused; the payment platform's webhook; and the NOC operator's pages
// (find a user, kick, recharge or adjust, portal nodes, BAS list).
//
// It is a plain http.Handler built by New. It never imports the other
// services: the store methods it needs, the RADIUS Disconnect client and
// billing's money operations come in through the small interfaces declared
// here, and cmd/campusnet wires them.
//
// Sessions are stateless signed cookies (see session.go), so any number of
// nodes behind a load balancer share them as long as they share the key.
package selfservice
