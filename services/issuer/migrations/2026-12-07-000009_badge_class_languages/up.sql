-- The language a badge class's name, description and criteria are written
-- in, and the same texts in other languages:
-- {"ja": {"name": …, "description": …, "criteria": …}}. Pages and
-- certificates show the reader's language; OB 3.0 credentials name the
-- other editions (`inLanguage` + `related`).
ALTER TABLE badge_classes
  ADD COLUMN language TEXT NOT NULL DEFAULT 'en',
  ADD COLUMN translations JSONB NOT NULL DEFAULT '{}';
