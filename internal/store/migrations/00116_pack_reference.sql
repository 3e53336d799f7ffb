-- +goose Up
-- The idempotency key of a pack's purchase (a self-service form's key, the
-- desk's --ref): unique per account, so a form submitted twice buys once
-- whatever node each submission reaches. '' for none.
ALTER TABLE packs ADD COLUMN reference TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX packs_reference ON packs (account_id, reference) WHERE reference <> '';

-- +goose Down
DROP INDEX packs_reference;
ALTER TABLE packs DROP COLUMN reference;
