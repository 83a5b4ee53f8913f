-- The awards display knows of (from badge.issued / badge.revoked): where each
-- one's documents live on host, and who it is for (for e-mail notices).
CREATE TABLE known_awards (
    award_id UUID PRIMARY KEY,
    assertion_url TEXT NOT NULL,
    badge_class_url TEXT,
    recipient_email TEXT,
    recipient_name TEXT,
    issued_on TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    revocation_reason TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
