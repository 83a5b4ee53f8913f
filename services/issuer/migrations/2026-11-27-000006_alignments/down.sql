ALTER TABLE badge_classes DROP COLUMN alignments;
