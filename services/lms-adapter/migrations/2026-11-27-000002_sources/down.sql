DROP TABLE learner_identities;
DROP INDEX rules_badge_course_activity;
ALTER TABLE rules DROP COLUMN activity_id, DROP COLUMN min_grade;
ALTER TABLE rules ADD CONSTRAINT rules_badge_class_id_course_id_key UNIQUE (badge_class_id, course_id);
DROP INDEX lms_events_held;
DROP INDEX lms_events_idempotency_key;
DELETE FROM lms_events WHERE learner_email IS NULL;
ALTER TABLE lms_events
    ALTER COLUMN learner_email SET NOT NULL,
    DROP COLUMN kind, DROP COLUMN activity_id, DROP COLUMN idempotency_key,
    DROP COLUMN status, DROP COLUMN progress_done, DROP COLUMN progress_total;
ALTER TABLE webhook_sources DROP COLUMN jwks_url, DROP COLUMN api_base_url, DROP COLUMN api_token;
