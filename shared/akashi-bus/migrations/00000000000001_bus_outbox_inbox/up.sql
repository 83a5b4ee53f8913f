-- The transactional outbox: a service writes its state change and the
-- message announcing it in one transaction; the relay publishes and marks it.
CREATE TABLE bus_outbox (
    id UUID PRIMARY KEY,
    routing_key TEXT NOT NULL,
    -- The CloudEvents envelope exactly as it will be published.
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX bus_outbox_pending ON bus_outbox (created_at) WHERE published_at IS NULL;

-- The consumer inbox: a message id processed once by a consumer is
-- recognised on redelivery and acked without effect.
CREATE TABLE bus_inbox (
    consumer TEXT NOT NULL,
    message_id UUID NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
