ALTER TABLE badge_classes ALTER COLUMN formats SET DEFAULT '{ob2_hosted,ob2_signed,ob3_vcjwt}';
DELETE FROM signing_keys WHERE algorithm <> 'RS256';
DROP INDEX signing_keys_one_active;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (issuer_id) WHERE valid_until IS NULL;
