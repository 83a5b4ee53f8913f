-- Host keeps its own copy of every public document, exactly as the issuer
-- built it, so that it can serve them whatever happens to the issuer.
CREATE TABLE hosted_issuers (
    id UUID PRIMARY KEY,
    profile JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE hosted_badge_classes (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    document JSONB NOT NULL,
    image BYTEA NOT NULL,
    image_content_type TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE hosted_assertions (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    badge_class_id UUID NOT NULL,
    recipient_email TEXT NOT NULL,
    document JSONB NOT NULL,
    issued_on TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX hosted_assertions_issuer ON hosted_assertions (issuer_id);
CREATE INDEX hosted_assertions_recipient ON hosted_assertions (recipient_email);

-- Revocations stand on their own, so a revocation that overtakes its
-- assertion on the bus still takes effect.
CREATE TABLE revocations (
    assertion_id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    reason TEXT NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revocations_issuer ON revocations (issuer_id);
