-- E-mail to earners: one row per award and kind, so that a message
-- delivered twice (a redelivery) still sends one mail. The sender renders
-- and sends due rows, retrying with back-off until the SMTP server accepts.
CREATE TABLE mail_outbox (
    id UUID PRIMARY KEY,
    award_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('issued', 'revoked')),
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (award_id, kind)
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
