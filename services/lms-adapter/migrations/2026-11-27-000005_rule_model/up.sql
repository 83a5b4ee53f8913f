-- Rules become versioned definitions: a boolean tree of conditions over
-- any source's events and badges already held, learner filters, once or
-- repeatable, the award's expiry and an optional approval step.
-- A rule created the old way (course, activity, minimum grade) is a
-- one-leaf tree and stays `simple`: only those keep the old uniqueness.
ALTER TABLE rules
    ADD COLUMN definition JSONB,
    ADD COLUMN version INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN simple BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN course_ids TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN prerequisite_badges UUID[] NOT NULL DEFAULT '{}',
    ADD COLUMN name TEXT,
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
UPDATE rules SET
    course_ids = ARRAY[course_id],
    definition = jsonb_build_object(
        'criteria', CASE WHEN min_grade IS NULL
            THEN jsonb_build_object('completed', jsonb_strip_nulls(jsonb_build_object('course', course_id, 'activity', activity_id)))
            ELSE jsonb_build_object('grade', jsonb_strip_nulls(jsonb_build_object('course', course_id, 'activity', activity_id, 'min', min_grade)))
        END);
ALTER TABLE rules ALTER COLUMN definition SET NOT NULL;
DROP INDEX rules_badge_course_activity;
CREATE UNIQUE INDEX rules_badge_course_activity ON rules (badge_class_id, course_id, COALESCE(activity_id, '')) WHERE simple;
CREATE INDEX rules_course_ids ON rules USING GIN (course_ids);
CREATE INDEX rules_prerequisites ON rules USING GIN (prerequisite_badges);

-- Every version a rule has had; a decision names the version it used.
CREATE TABLE rule_versions (
    rule_id UUID NOT NULL REFERENCES rules (id),
    version INTEGER NOT NULL,
    definition JSONB NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, version)
);
INSERT INTO rule_versions (rule_id, version, definition, active, created_at)
    SELECT id, version, definition, active, created_at FROM rules;

-- A decision on a pathway rule may be triggered by a badge, not an event;
-- a rule that asks for approval waits `pending` with the request it will send.
ALTER TABLE award_decisions
    ALTER COLUMN event_id DROP NOT NULL,
    ADD COLUMN rule_version INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN status TEXT NOT NULL DEFAULT 'requested'
        CHECK (status IN ('requested', 'pending', 'rejected')),
    ADD COLUMN pending_request JSONB,
    ADD COLUMN reviewed_by TEXT,
    ADD COLUMN review_note TEXT,
    ADD COLUMN reviewed_at TIMESTAMPTZ;
CREATE INDEX award_decisions_pending ON award_decisions (decided_at) WHERE status = 'pending';

-- Learner attributes the filters read (cohort, group, section, role),
-- set by the admin API (from an SIS export) and by LTI launches (roles).
CREATE TABLE learner_attributes (
    email TEXT PRIMARY KEY,
    cohorts TEXT[] NOT NULL DEFAULT '{}',
    groups TEXT[] NOT NULL DEFAULT '{}',
    sections TEXT[] NOT NULL DEFAULT '{}',
    roles TEXT[] NOT NULL DEFAULT '{}',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Each learner's progress toward each rule, kept current on every event.
CREATE TABLE rule_progress (
    rule_id UUID NOT NULL REFERENCES rules (id),
    learner_email TEXT NOT NULL,
    met INTEGER NOT NULL,
    total INTEGER NOT NULL,
    satisfied BOOLEAN NOT NULL,
    detail JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, learner_email)
);
CREATE INDEX rule_progress_learner ON rule_progress (learner_email);
