-- +goose Up
-- The single sign-on provider whose first login created the account ("" for
-- every other account): such an account has no network password, and a
-- direct RADIUS PAP login for it is refused with USE_SSO.
ALTER TABLE accounts ADD COLUMN sso_provider TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE accounts DROP COLUMN sso_provider;
