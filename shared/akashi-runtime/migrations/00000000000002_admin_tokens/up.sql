-- Admin API tokens, stored only as SHA-256 hashes of the secret.
CREATE TABLE admin_tokens (
    id UUID PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    scopes TEXT[] NOT NULL,
    -- NULL: platform-wide; otherwise the one issuer organization (tenant) it may touch.
    issuer_id UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
