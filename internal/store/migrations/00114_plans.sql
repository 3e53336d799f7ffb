-- +goose Up
-- Plans with traffic terms, packs, the walled garden and notifications
-- (docs/plans.md).

-- A cycle remembers the plan it runs under (its fee is fee_fen, as
-- before), the allowance that plan gave it, the counted traffic the meter
-- added to it, how many GB past the allowance a per-GB plan has charged,
-- and the profile its traffic calls for ('' full rate, 'slow',
-- 'restricted'). Cycles from before plans have plan '' (the area's flat
-- plan) and no allowance.
ALTER TABLE cycles ADD COLUMN plan TEXT NOT NULL DEFAULT '';
ALTER TABLE cycles ADD COLUMN allowance_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cycles ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cycles ADD COLUMN charged_gb BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cycles ADD COLUMN profile TEXT NOT NULL DEFAULT '';

-- The plan a student chose for their next cycles in an area; none means
-- the area's default plan. A choice never changes a running cycle.
CREATE TABLE plan_choices (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    area       TEXT NOT NULL,
    plan       TEXT NOT NULL,
    chosen_at  BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    PRIMARY KEY (account_id, area)
);

-- Traffic packs bought from the balance (ledger kind 'pack', reference
-- 'pack:<id>'). They are used after the cycle's allowance, oldest expiry
-- first, until expires_at.
CREATE TABLE packs (
    id         {{ID}},
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    area       TEXT NOT NULL,
    cycle_id   BIGINT NOT NULL,
    name       TEXT NOT NULL,
    bytes      BIGINT NOT NULL,
    used_bytes BIGINT NOT NULL DEFAULT 0,
    price_fen  BIGINT NOT NULL,
    bought_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ledger_id  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX packs_account ON packs (account_id, area, expires_at);

-- The meter's watermark per session: the session's counters (per family)
-- already added to a cycle, and the session's last_update_at when they were
-- read. A delta is added once: the watermark moves in the same transaction
-- as the cycle's used_bytes.
CREATE TABLE session_meter (
    session_id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    in_octets  BIGINT NOT NULL DEFAULT 0,
    out_octets BIGINT NOT NULL DEFAULT 0,
    in6_octets BIGINT NOT NULL DEFAULT 0,
    out6_octets BIGINT NOT NULL DEFAULT 0,
    at         BIGINT NOT NULL DEFAULT 0
);
-- How far the meter has read closed sessions (last_update_at), per area.
CREATE TABLE meter_marks (
    name TEXT PRIMARY KEY,
    at   BIGINT NOT NULL
);

-- What the BAS applies to a session beyond the area's rules, from its
-- Access-Accept or the last acknowledged CoA-Request: '' (full rate),
-- 'slow' or 'restricted' (the walled garden).
ALTER TABLE sessions ADD COLUMN profile TEXT NOT NULL DEFAULT '';

-- Students' events for the outbound webhook: written in the transaction of
-- what caused them, once per event (dedup_key), delivered at least once.
CREATE TABLE notifications (
    id           {{ID}},
    event        TEXT NOT NULL,
    dedup_key    TEXT NOT NULL UNIQUE,
    account_id   BIGINT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    delivered_at BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_pending ON notifications (next_at) WHERE status = 'pending';
CREATE INDEX notifications_account ON notifications (account_id, id);

-- New ledger kinds: 'pack' (a pack bought), 'traffic_fee' (a GB past a
-- per-GB plan's allowance), 'plan_change' (a plan chosen for the next
-- cycle; amount 0). SQLite cannot change a CHECK constraint: the table is
-- copied.
-- postgres: ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
-- postgres: ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('recharge', 'cycle_fee', 'refund', 'adjustment', 'pack', 'traffic_fee', 'plan_change'));
-- sqlite: CREATE TABLE ledger_new (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id BIGINT NOT NULL REFERENCES accounts(id), kind TEXT NOT NULL CHECK (kind IN ('recharge', 'cycle_fee', 'refund', 'adjustment', 'pack', 'traffic_fee', 'plan_change')), amount_fen BIGINT NOT NULL, balance_after_fen BIGINT NOT NULL, actor TEXT NOT NULL, reference TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, UNIQUE (kind, reference));
-- sqlite: INSERT INTO ledger_new (id, account_id, kind, amount_fen, balance_after_fen, actor, reference, reason, created_at) SELECT id, account_id, kind, amount_fen, balance_after_fen, actor, reference, reason, created_at FROM ledger;
-- sqlite: DROP TABLE ledger;
-- sqlite: ALTER TABLE ledger_new RENAME TO ledger;
-- sqlite: CREATE INDEX ledger_account ON ledger (account_id, id);

-- +goose Down
-- postgres: ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
-- postgres: ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('recharge', 'cycle_fee', 'refund', 'adjustment')) NOT VALID;
DROP INDEX notifications_account;
DROP INDEX notifications_pending;
DROP TABLE notifications;
ALTER TABLE sessions DROP COLUMN profile;
DROP TABLE meter_marks;
DROP TABLE session_meter;
DROP INDEX packs_account;
DROP TABLE packs;
DROP TABLE plan_choices;
ALTER TABLE cycles DROP COLUMN profile;
ALTER TABLE cycles DROP COLUMN charged_gb;
ALTER TABLE cycles DROP COLUMN used_bytes;
ALTER TABLE cycles DROP COLUMN allowance_bytes;
ALTER TABLE cycles DROP COLUMN plan;
