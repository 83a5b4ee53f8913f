DROP INDEX hosted_assertions_unclaimed;
ALTER TABLE hosted_assertions DROP COLUMN claimed_at;
