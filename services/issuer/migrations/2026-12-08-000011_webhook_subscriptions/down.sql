DROP INDEX awards_unannounced_expiry;
ALTER TABLE awards DROP COLUMN expiry_announced_at;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
