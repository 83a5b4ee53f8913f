-- Sign-in links are limited per mailbox (the address without its "+tag",
-- which reaches the same person) and per client address, not per literal
-- address only.
ALTER TABLE earner_signins ADD COLUMN mailbox text;
ALTER TABLE earner_signins ADD COLUMN client_ip text;
UPDATE earner_signins SET mailbox = email;
CREATE INDEX earner_signins_mailbox ON earner_signins (mailbox, created_at);
CREATE INDEX earner_signins_client ON earner_signins (client_ip, created_at);
