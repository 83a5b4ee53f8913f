-- W3C Bitstring Status Lists for OB 3.0 revocation. Positions come from one
-- sequence (no per-issuer row lock on the issuing path); position n is bit
-- n % 131072 of list n / 131072 of the credential's issuer.
CREATE SEQUENCE status_list_positions;

CREATE TABLE status_lists (
    issuer_id UUID NOT NULL REFERENCES issuers (id),
    list_no INTEGER NOT NULL,
    -- 131072 bits (16 KiB, the spec's minimum), bit 0 = most significant bit of byte 0.
    bits BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer_id, list_no)
);

ALTER TABLE award_credentials
    ADD COLUMN status_list_no INTEGER,
    ADD COLUMN status_index INTEGER;
