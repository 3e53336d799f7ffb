-- +goose Up
-- On PostgreSQL the foreign key sessions.account_id → accounts ran a query
-- for every session inserted, which also locked the account row FOR KEY
-- SHARE (a WAL record, and a wait whenever a login batch holds that row
-- FOR UPDATE): about a sixth of an Accounting-Start batch's time in the
-- database. It could never fail: accounts are never deleted (an account
-- leaves by being disabled; its bills and sessions stay), and every
-- statement that writes a session takes account_id from the accounts row it
-- has just read or locked. SQLite keeps the constraint (it cannot drop one,
-- and costs nothing there). Lines starting "-- postgres: " run on
-- PostgreSQL only (Store.migrations).
-- postgres: ALTER TABLE sessions DROP CONSTRAINT sessions_account_id_fkey;
SELECT 1;

-- +goose Down
-- postgres: ALTER TABLE sessions ADD CONSTRAINT sessions_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id);
SELECT 1;
