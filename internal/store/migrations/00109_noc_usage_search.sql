-- +goose Up
-- Traffic per account and campus-local day, fed by accounting: every
-- Interim-Update and Stop adds what its counters grew by since the session
-- row's previous counters (never less than zero), in the same transaction
-- as the session update. The day is the request's time in the campus time
-- zone ([server] timezone), as 'YYYY-MM-DD'; traffic that spans midnight
-- counts on the day it was reported. Self-service draws it; billing plans
-- may build cycle usage on it.
CREATE TABLE usage_days (
    account_id    BIGINT NOT NULL,
    day           TEXT NOT NULL,
    input_octets  BIGINT NOT NULL DEFAULT 0,
    output_octets BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);

-- The NOC's "find anyone". doc_tail is a SHA-256 of the document number's
-- last six characters (identity.DocumentTail), written at import; accounts
-- imported before it have NULL and are found by their doc_facts instead.
ALTER TABLE accounts ADD COLUMN doc_tail TEXT;
CREATE INDEX accounts_doc_tail ON accounts (doc_tail);
-- Phones are kept as the roster wrote them ("138 0013 8000"); the search
-- compares them without spaces and dashes.
CREATE INDEX accounts_phone ON accounts ((REPLACE(REPLACE(phone, ' ', ''), '-', '')));
-- Prefix searches of user names and names (LIKE 'q%'): PostgreSQL needs
-- pattern operator classes whatever the collation, SQLite's case-insensitive
-- LIKE an index in NOCASE ("-- sqlite: " lines run on SQLite only).
-- postgres: CREATE INDEX accounts_username_prefix ON accounts (username text_pattern_ops);
-- postgres: CREATE INDEX accounts_name_prefix ON accounts (name text_pattern_ops);
-- sqlite: CREATE INDEX accounts_username_nocase ON accounts (username COLLATE NOCASE);
-- sqlite: CREATE INDEX accounts_name_nocase ON accounts (name COLLATE NOCASE);
-- Every device of a MAC, bound or not.
CREATE INDEX devices_mac ON devices (mac);

-- The NOC home: the last hour's and 24 hours' authentications by time, and
-- the sessions that ended in the last 24 hours (a closed session lasted
-- until its Stop, else its last Interim-Update: last_update_at, as for the
-- trace): auth_log_at and sessions_closed_seen, built by migration 00113.
-- An Interim-Update of an online session writes no entry in the second.

-- +goose Down
DROP INDEX devices_mac;
-- sqlite: DROP INDEX accounts_name_nocase;
-- sqlite: DROP INDEX accounts_username_nocase;
-- postgres: DROP INDEX accounts_name_prefix;
-- postgres: DROP INDEX accounts_username_prefix;
DROP INDEX accounts_phone;
DROP INDEX accounts_doc_tail;
ALTER TABLE accounts DROP COLUMN doc_tail;
DROP TABLE usage_days;
