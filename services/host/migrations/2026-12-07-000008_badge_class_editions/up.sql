-- A badge class in its other languages: OB 2.0 BadgeClass documents by
-- language, served at /ob2/badges/{id}?lang={language}.
ALTER TABLE hosted_badge_classes
  ADD COLUMN language TEXT NOT NULL DEFAULT 'en',
  ADD COLUMN editions JSONB NOT NULL DEFAULT '{}';
