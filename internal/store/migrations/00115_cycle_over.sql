-- +goose Up
-- The meter's count of a cycle's traffic past its allowance that no pack
-- covered (docs/plans.md, Past the allowance): what a slow or block plan
-- is over by, and what a per-GB plan charges for, one GB begun at a time
-- (charged_gb). It only grows within a cycle; packs bought later cover
-- what comes after them.
ALTER TABLE cycles ADD COLUMN over_bytes BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE cycles DROP COLUMN over_bytes;
