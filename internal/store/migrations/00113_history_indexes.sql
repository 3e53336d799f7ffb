-- +goose NO TRANSACTION
-- +goose Up
-- The indexes of the trace (00108), the NOC home (00109) and the IPv6
-- lookups (00112) on the two tables that hold a semester of history. On
-- PostgreSQL they are built CONCURRENTLY, outside a transaction, so that an
-- upgrade of a live campus never blocks accounting and the authentication
-- log while it reads 20 million sessions or 50 million log rows (a plain
-- CREATE INDEX holds off every write for minutes). A build that failed
-- leaves an INVALID index: drop it and migrate again.
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_trace_ip ON sessions (ip, last_update_at, started_at) WHERE status = 'closed' AND ip <> '' AND started_at > 0;
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_trace_mac ON sessions (mac, last_update_at, started_at) WHERE status = 'closed' AND mac <> '' AND started_at > 0;
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_closed_seen ON sessions (last_update_at) WHERE status = 'closed' AND started_at > 0;
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_ip6_lo ON sessions (ip6_lo) WHERE ip6_lo <> '';
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_pd_lo ON sessions (pd_lo) WHERE pd_lo <> '';
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS auth_log_at ON auth_log (at);
-- sqlite: CREATE INDEX IF NOT EXISTS sessions_trace_ip ON sessions (ip, last_update_at, started_at) WHERE status = 'closed' AND ip <> '' AND started_at > 0;
-- sqlite: CREATE INDEX IF NOT EXISTS sessions_trace_mac ON sessions (mac, last_update_at, started_at) WHERE status = 'closed' AND mac <> '' AND started_at > 0;
-- sqlite: CREATE INDEX IF NOT EXISTS sessions_closed_seen ON sessions (last_update_at) WHERE status = 'closed' AND started_at > 0;
-- sqlite: CREATE INDEX IF NOT EXISTS sessions_ip6_lo ON sessions (ip6_lo) WHERE ip6_lo <> '';
-- sqlite: CREATE INDEX IF NOT EXISTS sessions_pd_lo ON sessions (pd_lo) WHERE pd_lo <> '';
-- sqlite: CREATE INDEX IF NOT EXISTS auth_log_at ON auth_log (at);

-- +goose Down
DROP INDEX IF EXISTS auth_log_at;
DROP INDEX IF EXISTS sessions_pd_lo;
DROP INDEX IF EXISTS sessions_ip6_lo;
DROP INDEX IF EXISTS sessions_closed_seen;
DROP INDEX IF EXISTS sessions_trace_mac;
DROP INDEX IF EXISTS sessions_trace_ip;
