// Package notify delivers the students' events (internal/access's Event*
// names, recorded by the store's AddNotificationTx in the transaction of
// what caused them) to the campus's outbound webhook ([notify]): each as a
// signed JSON POST, at least once, retried with exponential backoff, on
// every node at once without two nodes sending the same event together.
// See README.md for the payload, the headers and the retry policy.
package notify
