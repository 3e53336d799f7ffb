-- +goose Up
-- Trace: which session held an address (or a MAC) at a moment or in an
-- interval (Store.TraceSessions). A closed session held it from started_at
-- to last_update_at (its Stop, else its last Interim-Update); the
-- indexes of migration 00113 (sessions_trace_ip, sessions_trace_mac) find the closed sessions of one address or MAC whose interval
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

-- +goose Down
ALTER TABLE sessions DROP COLUMN nas_port;
