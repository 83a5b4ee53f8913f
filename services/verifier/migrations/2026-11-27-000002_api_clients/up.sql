-- HR systems and other clients of the verifier: each has an API key (only
-- its SHA-256 is kept) and its own rate limit.
CREATE TABLE api_clients (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    rate_per_minute INTEGER NOT NULL CHECK (rate_per_minute > 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);

-- Which client asked (NULL: anonymous).
ALTER TABLE verifications ADD COLUMN api_client_id UUID;
