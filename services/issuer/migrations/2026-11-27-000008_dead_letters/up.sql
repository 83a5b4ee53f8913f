-- Dead letters taken off the broker's dead-letter queue (the issuer drains
-- it for every service), for operators to inspect, replay or discard.
CREATE TABLE dead_letters (
    id UUID PRIMARY KEY,
    message_id UUID,
    routing_key TEXT NOT NULL,
    queue TEXT,
    reason TEXT,
    deaths BIGINT NOT NULL,
    body TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- `dead` until replayed or discarded.
    status TEXT NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'replayed', 'discarded')),
    handled_at TIMESTAMPTZ,
    handled_by TEXT
);
CREATE INDEX dead_letters_status ON dead_letters (status, received_at DESC);
