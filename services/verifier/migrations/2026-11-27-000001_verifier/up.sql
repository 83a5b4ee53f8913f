-- An audit trail of verifications: what was asked and what was answered.
-- The verifier keeps no credential data; it verifies as an outside party would.
CREATE TABLE verifications (
    id UUID PRIMARY KEY,
    input_kind TEXT NOT NULL,
    subject TEXT,
    status TEXT NOT NULL,
    format TEXT,
    elapsed_ms BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX verifications_created ON verifications (created_at);
