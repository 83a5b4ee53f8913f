-- Every LMS source, not only `generic`: a source's credentials are HMAC
-- secrets, shared tokens (Moodle's body token, an LRS's Basic password, a
-- Caliper Bearer key) and, for Canvas, the JWKS that signs its payloads and
-- the REST API the reconciliation job polls.
ALTER TABLE webhook_sources
    ADD COLUMN jwks_url TEXT,
    ADD COLUMN api_base_url TEXT,
    ADD COLUMN api_token TEXT;

-- Events now come in kinds (a grade or a progress report is not a
-- completion), may name an activity inside the course, and may arrive
-- before Akashi knows the learner's e-mail (Moodle, Caliper and xAPI name
-- users by LMS id only): such an event is held, durable, until the learner
-- directory maps its user.
ALTER TABLE lms_events
    ALTER COLUMN learner_email DROP NOT NULL,
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'completed',
    ADD COLUMN activity_id TEXT,
    ADD COLUMN idempotency_key TEXT,
    ADD COLUMN status TEXT NOT NULL DEFAULT 'decided',
    ADD COLUMN progress_done INTEGER,
    ADD COLUMN progress_total INTEGER;
CREATE UNIQUE INDEX lms_events_idempotency_key ON lms_events (source, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX lms_events_held ON lms_events (source, lms_user_id) WHERE status = 'held';

-- A rule may ask for a score (AGS, xAPI, Caliper, Canvas grades) and may
-- name one activity of the course instead of the course itself.
ALTER TABLE rules
    ADD COLUMN activity_id TEXT,
    ADD COLUMN min_grade DOUBLE PRECISION;
ALTER TABLE rules DROP CONSTRAINT rules_badge_class_id_course_id_key;
CREATE UNIQUE INDEX rules_badge_course_activity ON rules (badge_class_id, course_id, COALESCE(activity_id, ''));

-- The learner directory: one person across sources. (source, LMS user id)
-- → e-mail, learned from events that carry both, LTI launches, NRPS
-- rosters and the admin API.
CREATE TABLE learner_identities (
    source TEXT NOT NULL,
    lms_user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT,
    origin TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, lms_user_id)
);
CREATE INDEX learner_identities_email ON learner_identities (email);
