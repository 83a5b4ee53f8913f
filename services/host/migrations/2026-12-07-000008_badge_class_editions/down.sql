ALTER TABLE hosted_badge_classes DROP COLUMN editions, DROP COLUMN language;
