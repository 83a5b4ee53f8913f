-- A tenant is told by mail when one of its webhook subscriptions is turned off.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
  CHECK (kind IN ('issued', 'revoked', 'signin', 'subscription_disabled'));
