DELETE FROM mail_outbox WHERE kind = 'signin';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('issued', 'revoked'));
ALTER TABLE mail_outbox DROP COLUMN recipient_email, DROP COLUMN link, DROP COLUMN lang;
