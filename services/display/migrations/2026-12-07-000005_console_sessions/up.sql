-- Console sessions: the browser holds a random session id (its hash is
-- kept here), never the admin token itself, so signing out ends the
-- session on the server; each session has its own CSRF token.
CREATE TABLE console_sessions (
    id_hash text PRIMARY KEY,
    admin_token text NOT NULL,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
