-- +goose Up
-- Single sign-on logins under way (internal/sso): one row per trip to the
-- provider, consumed once on the way back by whichever node the browser
-- returns to, so a state, its OIDC nonce and its PKCE verifier serve one
-- login only. id is the SHA-256 of the state value, browser that of the
-- cookie of the browser that left.
CREATE TABLE sso_states (
    id         TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    browser    TEXT NOT NULL,
    nonce      TEXT NOT NULL DEFAULT '',
    verifier   TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sso_states_expires ON sso_states (expires_at);

-- +goose Down
DROP TABLE sso_states;
