// Package access holds campusnet's domain types — accounts, devices, sessions,
// areas, NAS — the reason codes a refusal carries, and the sentinel errors the
// services and stores share. It has no SQL and no I/O: internal/store
// implements what the services declare, in these terms.
package access
