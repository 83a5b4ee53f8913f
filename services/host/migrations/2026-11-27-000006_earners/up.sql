-- Earners: people who sign in (by a one-time e-mail link) to see, show and
-- carry the badges issued to their address. Only hashes of sign-in links,
-- session tokens, OAuth codes and tokens are stored.
CREATE TABLE earners (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT,
    profile_slug TEXT NOT NULL UNIQUE,
    profile_public BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- `via`: `email` (a mailed link; these are rate-limited per address) or
-- `lti` (a spent hand-off from an LTI launch, kept so it is used once).
CREATE TABLE earner_signins (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    via TEXT NOT NULL DEFAULT 'email',
    next_url TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX earner_signins_email ON earner_signins (email, created_at);

CREATE TABLE earner_sessions (
    token_hash TEXT PRIMARY KEY,
    earner_id UUID NOT NULL REFERENCES earners (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);

-- Badges are private in the backpack until the earner makes them public.
CREATE TABLE backpack_visibility (
    earner_id UUID NOT NULL REFERENCES earners (id) ON DELETE CASCADE,
    assertion_id UUID NOT NULL,
    public BOOLEAN NOT NULL,
    PRIMARY KEY (earner_id, assertion_id)
);

CREATE TABLE collections (
    id UUID PRIMARY KEY,
    earner_id UUID NOT NULL REFERENCES earners (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    public BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE collection_items (
    collection_id UUID NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    assertion_id UUID NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (collection_id, assertion_id)
);

-- Credentials earners (or apps acting for them through the OB 3.0 API)
-- put in their backpack, beside those Akashi issued them. `format` is the
-- verifier's name for it (`ob2-hosted`, `ob3-vcjwt`, `blockcerts`, …) for an
-- import, which is verified before it is stored; `ob3` for what an app
-- posted through the OB 3.0 API, kept as posted.
CREATE TABLE earner_credentials (
    id UUID PRIMARY KEY,
    earner_id UUID NOT NULL REFERENCES earners (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT 'ob3',
    compact_jws TEXT,
    credential JSONB,
    source_url TEXT,
    summary JSONB,
    verified_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (earner_id, credential_id)
);

-- The 1EdTech OB 3.0 API's OAuth 2.0: clients registered dynamically
-- (RFC 7591), authorization codes bound to a PKCE challenge, tokens.
CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    client_secret_hash TEXT NOT NULL,
    client_name TEXT NOT NULL,
    client_uri TEXT,
    redirect_uris TEXT[] NOT NULL,
    scopes TEXT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    earner_id UUID NOT NULL REFERENCES earners (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT[] NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    earner_id UUID NOT NULL REFERENCES earners (id) ON DELETE CASCADE,
    scopes TEXT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
