-- When the earner first signed in to the backpack holding the badge
-- (announced once as `badge.claimed` to webhook subscribers).
ALTER TABLE hosted_assertions ADD COLUMN claimed_at TIMESTAMPTZ;
CREATE INDEX hosted_assertions_unclaimed ON hosted_assertions (recipient_email) WHERE claimed_at IS NULL;
