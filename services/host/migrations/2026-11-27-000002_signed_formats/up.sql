-- Signed forms of each award, served beside the hosted assertion.
ALTER TABLE hosted_assertions
    ADD COLUMN ob2_signed_jws TEXT,
    ADD COLUMN ob3_credential JSONB,
    ADD COLUMN ob3_jwt TEXT;

-- Issuers' OB 2.0 CryptographicKeys, retired ones included.
CREATE TABLE hosted_keys (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    document JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
