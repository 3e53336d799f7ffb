-- +goose Up
-- The identity document of an imported person, without its number: the
-- type (roster.DocType), a SHA-256 of type and number (roster.DocumentHash)
-- so that one document cannot open two accounts, and the hashed facts the
-- password rules need (identity.DocumentFacts). Accounts imported before
-- have none (NULL hash, empty facts).
ALTER TABLE accounts ADD COLUMN doc_type TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN doc_hash TEXT;
ALTER TABLE accounts ADD COLUMN doc_facts TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX accounts_document ON accounts (doc_type, doc_hash);

-- +goose Down
DROP INDEX accounts_document;
ALTER TABLE accounts DROP COLUMN doc_facts;
ALTER TABLE accounts DROP COLUMN doc_hash;
ALTER TABLE accounts DROP COLUMN doc_type;
