-- The Blockcerts issuer profile, served at /blockcerts/issuers/{id}.
ALTER TABLE hosted_issuers ADD COLUMN blockcerts_profile JSONB;

-- Blockcerts certificates, served at /blockcerts/{id} once anchored.
CREATE TABLE hosted_blockcerts (
    award_id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    certificate JSONB NOT NULL,
    chain TEXT NOT NULL,
    anchor TEXT NOT NULL,
    anchored_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
