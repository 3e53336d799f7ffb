-- +goose Up
-- The IPv6 side of a session (dual stack or IPv6 only): the address, the
-- prefix of its link, its interface id and a delegated prefix as the BAS
-- reported them, the IPv6 part of the traffic (vendor counters), and, for
-- the trace of an IPv6 address, the ranges the address's /64 (or the
-- Framed-IPv6-Prefix) and the delegated prefix cover, first and last
-- address as 32 hex digits. Fixed-width hex compares as text in the order
-- of the addresses; on PostgreSQL in the "C" collation, whatever the
-- database's, so that the range conditions mean the same on both.
ALTER TABLE sessions ADD COLUMN ip6 TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip6_prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip6_ifid TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip6_pd TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip6_lo TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip6_hi TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN pd_lo TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN pd_hi TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN input_octets6 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN output_octets6 BIGINT NOT NULL DEFAULT 0;
-- postgres: ALTER TABLE sessions ALTER COLUMN ip6_lo TYPE TEXT COLLATE "C";
-- postgres: ALTER TABLE sessions ALTER COLUMN ip6_hi TYPE TEXT COLLATE "C";
-- postgres: ALTER TABLE sessions ALTER COLUMN pd_lo TYPE TEXT COLLATE "C";
-- postgres: ALTER TABLE sessions ALTER COLUMN pd_hi TYPE TEXT COLLATE "C";
-- The trace looks ranges up by their first address, and the portal finds
-- the live session of an IPv6 source address by its /64: sessions_ip6_lo
-- and sessions_pd_lo, built by migration 00113.

-- +goose Down
ALTER TABLE sessions DROP COLUMN output_octets6;
ALTER TABLE sessions DROP COLUMN input_octets6;
ALTER TABLE sessions DROP COLUMN pd_hi;
ALTER TABLE sessions DROP COLUMN pd_lo;
ALTER TABLE sessions DROP COLUMN ip6_hi;
ALTER TABLE sessions DROP COLUMN ip6_lo;
ALTER TABLE sessions DROP COLUMN ip6_pd;
ALTER TABLE sessions DROP COLUMN ip6_ifid;
ALTER TABLE sessions DROP COLUMN ip6_prefix;
ALTER TABLE sessions DROP COLUMN ip6;
