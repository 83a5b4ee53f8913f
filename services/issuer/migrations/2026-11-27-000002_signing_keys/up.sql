-- Each issuer's signing keys. Private keys are sealed (AES-256-GCM) under
-- the operator's master key; public parts are published, retired keys
-- included, with their validity windows, so that credentials signed before
-- a rotation still verify after it.
CREATE TABLE signing_keys (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL REFERENCES issuers (id),
    algorithm TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    public_jwk JSONB NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX signing_keys_issuer ON signing_keys (issuer_id, valid_from);
-- At most one key signs for an issuer at a time.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (issuer_id) WHERE valid_until IS NULL;

-- The formats a badge class is issued in; every award yields each of them.
ALTER TABLE badge_classes ADD COLUMN formats TEXT[] NOT NULL DEFAULT '{ob2_hosted,ob2_signed,ob3_vcjwt}';

-- The signed forms of each award, one row per format.
CREATE TABLE award_credentials (
    award_id UUID NOT NULL REFERENCES awards (id),
    format TEXT NOT NULL,
    signing_key_id UUID NOT NULL REFERENCES signing_keys (id),
    -- The JSON form (the OB 3.0 credential), where the format has one.
    document JSONB,
    -- The compact JWS / VC-JWT.
    compact TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (award_id, format)
);
