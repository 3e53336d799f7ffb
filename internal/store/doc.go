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
//
// History is kept for [retention] period_days and then deleted by
// PurgeHistory (retention.go): closed sessions and the authentication log
// only, in batches of one statement each, walking the primary key, one node
// at a time on PostgreSQL (an advisory lock). Monthly partitions, where a
// purge is a DROP, were measured against it on a semester of history
// (deploy/bench/README.md, History) and left out: batched deletes keep
// logins within their latency bounds while a month goes, and partitioning
// would rewrite both tables and lose the unique key (nas, acct_session_id)
// that makes accounting idempotent, since a partitioned table's unique keys
// must include the partition key. SQLite deletes in batches the same way.
package store
