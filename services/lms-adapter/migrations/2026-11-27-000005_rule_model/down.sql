DROP TABLE rule_progress;
DROP TABLE learner_attributes;
DROP INDEX award_decisions_pending;
ALTER TABLE award_decisions
    DROP COLUMN reviewed_at, DROP COLUMN review_note, DROP COLUMN reviewed_by,
    DROP COLUMN pending_request, DROP COLUMN status, DROP COLUMN rule_version;
DROP TABLE rule_versions;
DROP INDEX rules_prerequisites;
DROP INDEX rules_course_ids;
DROP INDEX rules_badge_course_activity;
CREATE UNIQUE INDEX rules_badge_course_activity ON rules (badge_class_id, course_id, COALESCE(activity_id, ''));
ALTER TABLE rules
    DROP COLUMN updated_at, DROP COLUMN name, DROP COLUMN prerequisite_badges, DROP COLUMN course_ids,
    DROP COLUMN simple, DROP COLUMN version, DROP COLUMN definition;
