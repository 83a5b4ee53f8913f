-- An earner can keep their name off the public pages of their badges
-- (display shows "a badge earned by …" only when they allow it).
ALTER TABLE earners
  ADD COLUMN hide_name BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN preferences_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();
