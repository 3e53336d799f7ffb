-- +goose Up
-- When a portal node last stopped cleanly (unix ms; 0 while it runs): the
-- node writes it on shutdown and its next heartbeat clears it, so
-- `campusnet nodes` and the NOC page say "stopped" at once, not "stale"
-- a minute later.
ALTER TABLE portal_nodes ADD COLUMN stopped_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE portal_nodes DROP COLUMN stopped_at;
