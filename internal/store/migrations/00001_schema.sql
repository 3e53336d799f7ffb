-- +goose Up
-- One schema for PostgreSQL and SQLite. {{ID}} becomes the dialect's
-- auto-increment primary key. Times are unix milliseconds (BIGINT) so that the
-- two databases compare them the same way. Money is integer fen.

CREATE TABLE accounts (
    id              {{ID}},
    username        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL DEFAULT 'student',
    phone           TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL DEFAULT '',
    must_change     BOOLEAN NOT NULL DEFAULT FALSE,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason TEXT NOT NULL DEFAULT '',
    balance_fen     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Append-only: every change of balance is a row with the balance after it.
-- (kind, reference) is unique: a payment order, a cycle's fee, an operator's
-- request id happen once.
CREATE TABLE ledger (
    id                {{ID}},
    account_id        BIGINT NOT NULL REFERENCES accounts(id),
    kind              TEXT NOT NULL CHECK (kind IN ('recharge', 'cycle_fee', 'refund', 'adjustment')),
    amount_fen        BIGINT NOT NULL,
    balance_after_fen BIGINT NOT NULL,
    actor             TEXT NOT NULL,
    reference         TEXT NOT NULL,
    reason            TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    UNIQUE (kind, reference)
);
CREATE INDEX ledger_account ON ledger (account_id, id);

-- A billing cycle of one account in one billed area. At most one active cycle
-- per (account, area); its fee is charged once (ledger reference 'cycle:<id>').
CREATE TABLE cycles (
    id         {{ID}},
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    area       TEXT NOT NULL,
    fee_fen    BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'settled')),
    settled_at BIGINT NOT NULL DEFAULT 0,
    ledger_id  BIGINT
);
CREATE UNIQUE INDEX cycles_one_active ON cycles (account_id, area) WHERE status = 'active';
CREATE INDEX cycles_due ON cycles (status, ends_at);

-- What campusnet knows of one (account, MAC): class and why, and whether the
-- MAC may authenticate by itself. A MAC is bound to at most one account.
CREATE TABLE devices (
    id           {{ID}},
    account_id   BIGINT NOT NULL REFERENCES accounts(id),
    mac          TEXT NOT NULL,
    class        TEXT NOT NULL DEFAULT 'unknown',
    signals      TEXT NOT NULL DEFAULT '',
    bound        BOOLEAN NOT NULL DEFAULT FALSE,
    bound_by     TEXT NOT NULL DEFAULT '',
    label        TEXT NOT NULL DEFAULT '',
    last_seen_at BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    UNIQUE (account_id, mac)
);
CREATE UNIQUE INDEX devices_bound_mac ON devices (mac) WHERE bound;

-- BAS seen by RADIUS. The config is the source of truth; this is what the NOC
-- pages read (last request seen).
CREATE TABLE nas (
    name            TEXT PRIMARY KEY,
    ip              TEXT NOT NULL,
    area            TEXT NOT NULL,
    last_request_at BIGINT NOT NULL DEFAULT 0
);

-- Sessions: reserved (inserted with the Access-Accept) → online (Accounting-
-- Start) → closed. (nas, acct_session_id) is unique so accounting is idempotent.
CREATE TABLE sessions (
    id              {{ID}},
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    username        TEXT NOT NULL,
    nas             TEXT NOT NULL,
    area            TEXT NOT NULL,
    mac             TEXT NOT NULL DEFAULT '',
    ip              TEXT NOT NULL DEFAULT '',
    class           TEXT NOT NULL DEFAULT 'unknown',
    status          TEXT NOT NULL CHECK (status IN ('reserved', 'online', 'closed')),
    acct_session_id TEXT,
    correlation     TEXT NOT NULL UNIQUE,
    reserved_at     BIGINT NOT NULL DEFAULT 0,
    started_at      BIGINT NOT NULL DEFAULT 0,
    last_update_at  BIGINT NOT NULL DEFAULT 0,
    stopped_at      BIGINT NOT NULL DEFAULT 0,
    input_octets    BIGINT NOT NULL DEFAULT 0,
    output_octets   BIGINT NOT NULL DEFAULT 0,
    terminate_cause TEXT NOT NULL DEFAULT '',
    close_reason    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sessions_acct ON sessions (nas, acct_session_id);
CREATE INDEX sessions_live ON sessions (account_id, status);
CREATE INDEX sessions_status ON sessions (status, last_update_at);
CREATE INDEX sessions_ip ON sessions (ip, status);

-- Every accept and refusal, with its reason code.
CREATE TABLE auth_log (
    id         {{ID}},
    at         BIGINT NOT NULL,
    username   TEXT NOT NULL,
    account_id BIGINT,
    nas        TEXT NOT NULL DEFAULT '',
    mac        TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    method     TEXT NOT NULL DEFAULT '',
    result     TEXT NOT NULL CHECK (result IN ('accept', 'reject')),
    reason     TEXT NOT NULL,
    message    TEXT NOT NULL DEFAULT '',
    node       TEXT NOT NULL DEFAULT '',
    token_id   BIGINT
);
CREATE INDEX auth_log_account ON auth_log (account_id, at);
CREATE INDEX auth_log_user ON auth_log (username, at);
CREATE INDEX auth_log_token ON auth_log (token_id);

-- One-time login tokens from the portal: random, short-lived, single use.
-- The token itself is never stored: the row keeps a random nonce, and only a
-- node holding the token key derives the token from it (internal/logintoken).
CREATE TABLE login_tokens (
    id         {{ID}},
    nonce      TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    username   TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    mac        TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    class      TEXT NOT NULL DEFAULT 'unknown',
    signals    TEXT NOT NULL DEFAULT '',
    nas        TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX login_tokens_user ON login_tokens (username, expires_at);
CREATE INDEX login_tokens_expiry ON login_tokens (expires_at);

-- The payment platform's orders: idempotent on order_id.
CREATE TABLE payment_orders (
    order_id    TEXT PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    amount_fen  BIGINT NOT NULL,
    paid_at     TEXT NOT NULL,
    ledger_id   BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);

-- Operator actions: who, what, when, why.
CREATE TABLE audit_log (
    id     {{ID}},
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Portal nodes' heartbeats ("网络信息中心-X" → node X).
CREATE TABLE portal_nodes (
    node_id       TEXT PRIMARY KEY,
    address       TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    started_at    BIGINT NOT NULL DEFAULT 0,
    heartbeat_at  BIGINT NOT NULL DEFAULT 0,
    logins_ok     BIGINT NOT NULL DEFAULT 0,
    logins_failed BIGINT NOT NULL DEFAULT 0,
    bas_errors    BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE portal_nodes;
DROP TABLE audit_log;
DROP TABLE payment_orders;
DROP TABLE login_tokens;
DROP TABLE auth_log;
DROP TABLE sessions;
DROP TABLE nas;
DROP TABLE devices;
DROP TABLE cycles;
DROP TABLE ledger;
DROP TABLE accounts;
