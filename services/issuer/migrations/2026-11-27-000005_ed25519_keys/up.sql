-- Issuers sign with one key per algorithm: RSA (OB 2.0 signed, OB 3.0
-- VC-JWT) and Ed25519 (OB 3.0 Data Integrity, eddsa-rdfc-2022).
DROP INDEX signing_keys_one_active;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (issuer_id, algorithm) WHERE valid_until IS NULL;

-- OB 3.0 with a Data Integrity proof joins the formats a new badge class
-- is issued in by default.
ALTER TABLE badge_classes ALTER COLUMN formats SET DEFAULT '{ob2_hosted,ob2_signed,ob3_vcjwt,ob3_di}';
