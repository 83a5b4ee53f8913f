-- Why each award was made: the rule as it stood, the deciding event and
-- the conditions that held (the decision log), and how it was decided
-- (`event` as the event arrived, `retroactive` by applying a rule to
-- events received before it existed).
ALTER TABLE award_decisions
    ADD COLUMN explanation JSONB,
    ADD COLUMN decided_by TEXT NOT NULL DEFAULT 'event';
CREATE INDEX award_decisions_learner ON award_decisions (learner_email);
CREATE INDEX lms_events_course ON lms_events (course_id) WHERE status = 'decided';
