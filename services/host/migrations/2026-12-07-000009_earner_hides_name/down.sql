ALTER TABLE earners DROP COLUMN preferences_changed_at, DROP COLUMN hide_name;
