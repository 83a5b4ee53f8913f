ALTER TABLE badge_classes DROP COLUMN translations, DROP COLUMN language;
