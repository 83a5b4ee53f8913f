-- Anchored Blockcerts certificates (from blockcerts.issued), kept apart from
-- known_awards so that the order the two messages arrive in does not matter.
CREATE TABLE known_blockcerts (
    award_id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    chain TEXT NOT NULL,
    anchor TEXT NOT NULL,
    anchored_at TIMESTAMPTZ NOT NULL,
    batch_size INTEGER NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
