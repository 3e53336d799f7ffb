-- +goose Up
-- RADIUS looks sessions up by MAC: the reservation an Accounting-Start
-- without Class belongs to, the older sessions of a MAC that a new Start
-- replaces, a MAC's live sessions.
CREATE INDEX sessions_mac ON sessions (mac, status);

-- +goose Down
DROP INDEX sessions_mac;
