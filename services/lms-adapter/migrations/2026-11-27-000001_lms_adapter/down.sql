DROP TABLE award_decisions;
DROP TABLE rules;
DROP TABLE known_badge_classes;
DROP TABLE lms_events;
DROP TABLE webhook_sources;
