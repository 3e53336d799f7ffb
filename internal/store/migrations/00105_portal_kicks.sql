-- +goose Up
-- The addresses a BAS logged out (NTF_LOGOUT), so that the status page of
-- every portal node, not only the one the BAS told, can say why a person
-- is offline (DESIGN §9). One row per user address: the BAS and the time
-- (unix ms). A login at the address deletes it; the portal shows a row
-- for 30 minutes and purges older ones.
CREATE TABLE portal_kicks (
    ip  TEXT PRIMARY KEY,
    nas TEXT NOT NULL,
    at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE portal_kicks;
