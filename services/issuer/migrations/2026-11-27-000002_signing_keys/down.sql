DROP TABLE award_credentials;
ALTER TABLE badge_classes DROP COLUMN formats;
DROP TABLE signing_keys;
