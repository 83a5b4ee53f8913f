DELETE FROM mail_outbox WHERE kind = 'subscription_disabled';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('issued', 'revoked', 'signin'));
