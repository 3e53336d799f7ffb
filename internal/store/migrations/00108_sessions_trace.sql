-- +goose Up
-- Trace: which session held an address (or a MAC) at a moment or in an
-- interval (Store.TraceSessions). A closed session held it from started_at
-- to last_update_at (its Stop, else its last Interim-Update); these
-- indexes find the closed sessions of one address or MAC whose interval
-- reaches the asked time, reading the index alone: the range is
-- last_update_at >= from, and started_at <= to is checked in the index.
-- Ordered by last_update_at, a trace of a recent moment reads only the
-- sessions that ended since. They hold closed sessions only (live ones are
-- found through sessions_ip and sessions_mac): an Interim-Update of an
-- online session writes no entry in them, a Stop one in each.
--
-- nas_port is where on the BAS the subscriber was (NAS-Port-Id, else
-- NAS-Port), recorded by the Accounting-Start.
ALTER TABLE sessions ADD COLUMN nas_port TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_trace_ip ON sessions (ip, last_update_at, started_at) WHERE status = 'closed' AND ip <> '' AND started_at > 0;
CREATE INDEX sessions_trace_mac ON sessions (mac, last_update_at, started_at) WHERE status = 'closed' AND mac <> '' AND started_at > 0;

-- +goose Down
DROP INDEX sessions_trace_mac;
DROP INDEX sessions_trace_ip;
ALTER TABLE sessions DROP COLUMN nas_port;
