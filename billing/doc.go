// Package billing keeps the money side of campusnet: the
// balance ledger, the 20-yuan 30-day cycles of billed areas, their
// settlement, recharges (the payment platform's webhook and the counter),
// refunds and operator adjustments, and the consistency check.
//
// Money is integer fen (access.Fen). Every change of balance is one ledger
// row with the balance after it, so balance == sum(ledger) always holds; a
// (kind, reference) pair is unique, which is what makes a payment order
// count once and a cycle's fee be charged once however many nodes settle.
//
// RADIUS does not import this package: it applies access.DormOpen and calls
// store.StartCycleTx at Accounting-Start. This package settles what those
// cycles add up to.
package billing
