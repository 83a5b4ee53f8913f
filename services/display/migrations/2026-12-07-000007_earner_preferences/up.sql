-- Earners who keep their name off the public pages of their badges (from
-- earner.preferences_changed; the newest change wins).
CREATE TABLE earner_preferences (
  email TEXT PRIMARY KEY,
  hide_name BOOLEAN NOT NULL,
  changed_at TIMESTAMPTZ NOT NULL
);
