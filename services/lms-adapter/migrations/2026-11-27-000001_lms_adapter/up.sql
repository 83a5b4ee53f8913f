-- Credentials of each webhook source. HMAC needs the secret itself, so it
-- cannot be stored hashed; several secrets allow rotation.
CREATE TABLE webhook_sources (
    name TEXT PRIMARY KEY,
    secrets TEXT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every accepted LMS event, raw body kept for audit. (source, external_id)
-- is the source's natural key: a redelivery is recognised and ignored.
CREATE TABLE lms_events (
    id UUID PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    raw_body TEXT NOT NULL,
    learner_email TEXT NOT NULL,
    learner_name TEXT,
    lms_user_id TEXT,
    course_id TEXT NOT NULL,
    completed_at TIMESTAMPTZ,
    grade DOUBLE PRECISION,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source, external_id)
);
CREATE INDEX lms_events_learner ON lms_events (learner_email);

-- Badge classes the issuer has published: rules may only name these.
CREATE TABLE known_badge_classes (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    name TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Completion rules: "course C completed -> badge B".
CREATE TABLE rules (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL,
    badge_class_id UUID NOT NULL REFERENCES known_badge_classes (id),
    course_id TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (badge_class_id, course_id)
);
CREATE INDEX rules_course ON rules (course_id) WHERE active;

-- One row per award decided; idempotency_key = (rule, learner, course).
CREATE TABLE award_decisions (
    id UUID PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    rule_id UUID NOT NULL REFERENCES rules (id),
    event_id UUID NOT NULL REFERENCES lms_events (id),
    learner_email TEXT NOT NULL,
    badge_class_id UUID NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
