DROP INDEX lms_events_course;
DROP INDEX award_decisions_learner;
ALTER TABLE award_decisions DROP COLUMN explanation, DROP COLUMN decided_by;
