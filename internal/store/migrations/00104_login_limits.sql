-- +goose Up
-- The failed-login buckets (internal/ratelimit, DESIGN §10), shared by every
-- node and by the portal and the self-service site, so that N nodes behind a
-- load balancer give an attacker one budget per account and per address, not
-- N. A row is a token bucket: the tokens it held at `at` (unix ms); it
-- refills by one token per interval, up to the burst, computed when read or
-- charged. Keys are "scope:key" ("account:alice", "source:10.2.4.2"); rows
-- that have refilled are purged by the limiters.
CREATE TABLE login_limits (
    key    TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE login_limits;
