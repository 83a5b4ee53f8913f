-- Outgoing events (Standard Webhooks): who wants which events, each event
-- to send to each of them, and every attempt to send it.
CREATE TABLE webhook_subscriptions (
  id UUID PRIMARY KEY,
  -- The tenant that owns it; NULL: a platform subscription to every tenant.
  owner_issuer_id UUID REFERENCES issuers (id),
  url TEXT NOT NULL,
  description TEXT,
  events TEXT[] NOT NULL,
  -- Optional filters.
  issuer_id UUID REFERENCES issuers (id),
  badge_class_id UUID REFERENCES badge_classes (id),
  -- The earner's address travels only if the tenant turned this on.
  include_recipient_email BOOLEAN NOT NULL DEFAULT false,
  enabled BOOLEAN NOT NULL DEFAULT true,
  disabled_reason TEXT,
  -- The signing secret (the bytes after `whsec_`), sealed under the master
  -- key; the previous one keeps signing until previous_secret_expires_at.
  sealed_secret BYTEA NOT NULL,
  sealed_previous_secret BYTEA,
  previous_secret_expires_at TIMESTAMPTZ,
  -- Start of the current run of failed attempts (NULL after a success).
  failing_since TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner_issuer_id);

CREATE TABLE webhook_deliveries (
  -- The `webhook-id` (`msg_` + this id): the same on every retry and replay.
  id UUID PRIMARY KEY,
  seq BIGSERIAL NOT NULL,
  subscription_id UUID NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  -- The event that caused it (one delivery per event and subscription).
  event_id UUID NOT NULL,
  event_type TEXT NOT NULL,
  -- Deliveries with the same key (the award) go out in order.
  ordering_key TEXT NOT NULL,
  issuer_id UUID NOT NULL,
  payload JSONB NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- While set and in the future, one replica is sending it.
  leased_until TIMESTAMPTZ,
  last_status_code INTEGER,
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  delivered_at TIMESTAMPTZ,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, ordering_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at DESC);

CREATE TABLE webhook_attempts (
  id BIGSERIAL PRIMARY KEY,
  delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  status_code INTEGER,
  error TEXT,
  response_excerpt TEXT,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

-- badge.expired is announced once per award.
ALTER TABLE awards ADD COLUMN expiry_announced_at TIMESTAMPTZ;
CREATE INDEX awards_unannounced_expiry ON awards (expires_at) WHERE expires_at IS NOT NULL AND expiry_announced_at IS NULL;
