-- +goose NO TRANSACTION
-- +goose Up
-- The NOC home's traffic by plan (plan_report.go): usage_days by day, and
-- an account's cycles by start, so that the 30 days' report reads the
-- window's days and one cycle per account and day through indexes, never
-- the whole history. Built CONCURRENTLY on PostgreSQL, as 00113 is, so an
-- upgrade never blocks accounting.
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS usage_days_day ON usage_days (day);
-- postgres: CREATE INDEX CONCURRENTLY IF NOT EXISTS cycles_account_start ON cycles (account_id, started_at);
-- sqlite: CREATE INDEX IF NOT EXISTS usage_days_day ON usage_days (day);
-- sqlite: CREATE INDEX IF NOT EXISTS cycles_account_start ON cycles (account_id, started_at);

-- +goose Down
DROP INDEX IF EXISTS cycles_account_start;
DROP INDEX IF EXISTS usage_days_day;
