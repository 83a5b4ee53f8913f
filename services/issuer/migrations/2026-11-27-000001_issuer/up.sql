-- Issuer organizations (tenants) and their public profile.
CREATE TABLE issuers (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    email TEXT NOT NULL,
    description TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX issuers_name_unique ON issuers (lower(name));

-- What can be earned: OB 2.0 BadgeClass / OB 3.0 Achievement.
CREATE TABLE badge_classes (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL REFERENCES issuers (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    criteria_narrative TEXT NOT NULL,
    criteria_url TEXT,
    tags TEXT[] NOT NULL DEFAULT '{}',
    image BYTEA NOT NULL,
    image_content_type TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX badge_classes_name_unique ON badge_classes (issuer_id, lower(name));

-- Every credential issued. idempotency_key (rule, learner, course run) makes
-- a request delivered many times yield one award.
CREATE TABLE awards (
    id UUID PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    issuer_id UUID NOT NULL REFERENCES issuers (id),
    badge_class_id UUID NOT NULL REFERENCES badge_classes (id),
    recipient_email TEXT NOT NULL,
    recipient_name TEXT,
    salt TEXT NOT NULL,
    identity_hash TEXT NOT NULL,
    issued_on TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    origin JSONB NOT NULL,
    ob2_assertion JSONB NOT NULL,
    revoked_at TIMESTAMPTZ,
    revocation_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX awards_recipient_email ON awards (recipient_email);
CREATE INDEX awards_badge_class ON awards (badge_class_id);
