-- Issuer-signed Bitstring Status List credentials (OB 3.0 revocation).
CREATE TABLE hosted_status_lists (
    issuer_id UUID NOT NULL,
    list_no INTEGER NOT NULL,
    credential JSONB NOT NULL,
    jwt TEXT NOT NULL,
    -- The issuer's time of this version: an older one never replaces a newer.
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer_id, list_no)
);
