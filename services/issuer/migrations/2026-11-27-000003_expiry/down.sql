ALTER TABLE badge_classes DROP CONSTRAINT badge_classes_one_expiry, DROP COLUMN expires_after_days, DROP COLUMN expires_on;
