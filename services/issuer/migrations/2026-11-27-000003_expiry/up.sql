-- How long an award of a badge class stays valid: a number of days after
-- issue, or a fixed date (at most one of them).
ALTER TABLE badge_classes
    ADD COLUMN expires_after_days INTEGER CHECK (expires_after_days > 0),
    ADD COLUMN expires_on TIMESTAMPTZ,
    ADD CONSTRAINT badge_classes_one_expiry CHECK (expires_after_days IS NULL OR expires_on IS NULL);
