-- Blockcerts batches. A batch moves built → signed (Ethereum: the anchoring
-- transaction is signed and stored before it is sent, so a crash can only
-- lead to re-sending the same bytes, never to a second anchor) → anchored
-- → published (certificates with their proofs in award_credentials and
-- blockcerts.issued in the outbox, in one transaction).
CREATE TABLE blockcerts_batches (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL REFERENCES issuers (id),
    chain TEXT NOT NULL CHECK (chain IN ('mocknet', 'ethereum_sepolia', 'ethereum_mainnet')),
    state TEXT NOT NULL CHECK (state IN ('built', 'signed', 'anchored', 'published')),
    size INTEGER NOT NULL CHECK (size > 0),
    merkle_root BYTEA NOT NULL CHECK (octet_length(merkle_root) = 32),
    -- The issuer's ES256K key that signs (Ethereum) or would sign (mocknet) the anchor.
    anchoring_key_id UUID NOT NULL REFERENCES signing_keys (id),
    -- Ethereum: the signed anchoring transaction, its nonce and hash.
    raw_tx BYTEA,
    nonce BIGINT,
    tx_hash BYTEA,
    anchor TEXT,
    anchored_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX blockcerts_batches_unfinished ON blockcerts_batches (created_at) WHERE state <> 'published';

-- Certificates waiting for (or in) a batch. The target hash is computed in
-- the award's transaction, so a certificate that does not canonicalize in
-- safe mode fails the award at issue time, not the batch later.
CREATE TABLE blockcerts_pending (
    award_id UUID PRIMARY KEY REFERENCES awards (id),
    issuer_id UUID NOT NULL REFERENCES issuers (id),
    certificate JSONB NOT NULL,
    target_hash BYTEA NOT NULL CHECK (octet_length(target_hash) = 32),
    batch_id UUID REFERENCES blockcerts_batches (id),
    leaf_index INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((batch_id IS NULL) = (leaf_index IS NULL))
);
CREATE INDEX blockcerts_pending_unbatched ON blockcerts_pending (issuer_id, created_at) WHERE batch_id IS NULL;
CREATE UNIQUE INDEX blockcerts_pending_leaf ON blockcerts_pending (batch_id, leaf_index);
