DROP INDEX earner_signins_client;
DROP INDEX earner_signins_mailbox;
ALTER TABLE earner_signins DROP COLUMN client_ip;
ALTER TABLE earner_signins DROP COLUMN mailbox;
