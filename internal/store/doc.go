// Package store is campusnet's one database layer: sqlx over PostgreSQL
// (lib/pq, DSN "postgres://…") and SQLite (modernc.org/sqlite, DSN
// "sqlite:PATH"), with versioned migrations embedded in the binary.
//
// Correctness under concurrency lives here, not in process-local locks: every
// decision is one transaction, the row it depends on is locked (SELECT … FOR
// UPDATE on PostgreSQL; SQLite transactions are BEGIN IMMEDIATE, so writers
// are serialised), and what must happen once is held by a unique key. Several
// campusnet nodes on one PostgreSQL therefore give the answers one node gives.
//
// SQL is kept to what PostgreSQL, SQLite and the PostgreSQL-wire distributed
// databases (CockroachDB, YugabyteDB) all accept: no stored procedures, no
// triggers, no dialect-only types. Times are unix milliseconds.
package store
