-- Sign-in links for earners go through the same retried, leased outbox as
-- award mail. For `signin` rows `award_id` holds the sign-in request's id
-- (so a redelivered request queues one mail) and the address and link are
-- in the row: there is no award to read them from.
ALTER TABLE mail_outbox
    ADD COLUMN recipient_email TEXT,
    ADD COLUMN link TEXT,
    ADD COLUMN lang TEXT;
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('issued', 'revoked', 'signin'));
