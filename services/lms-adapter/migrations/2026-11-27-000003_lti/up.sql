-- LTI 1.3 platform registrations, keyed by (issuer, client_id): hosted
-- Canvas uses one issuer for every customer, so the issuer alone names no
-- platform. `user_source` names the webhook source whose user ids equal this
-- platform's `sub` (Moodle), so a launch teaches the learner directory.
CREATE TABLE lti_platforms (
    id UUID PRIMARY KEY,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    deployment_ids TEXT[] NOT NULL,
    jwks_url TEXT NOT NULL,
    auth_url TEXT NOT NULL,
    token_url TEXT NOT NULL,
    token_audience TEXT,
    user_source TEXT,
    name TEXT,
    -- The Akashi issuer (tenant) whose badges this platform's instructors
    -- may place; every issuer's when NULL (a platform-wide LMS).
    tenant_issuer_id UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (issuer, client_id)
);

-- The tool's own RSA keys (id_token-free messages: deep linking responses,
-- client assertions). Sealed with the master key when one is configured.
-- Retired keys stay published for a while, so that a platform caching our
-- JWKS still verifies what we signed just before a rotation.
CREATE TABLE lti_tool_keys (
    kid TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    sealed BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    retired_at TIMESTAMPTZ
);

-- OIDC logins in flight: state and nonce are single-use and bound to the
-- browser that started the login (a cookie, or the platform's postMessage
-- storage when third-party cookies are blocked); only a hash of the binding
-- is kept.
CREATE TABLE lti_logins (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL UNIQUE,
    platform_id UUID NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    binding_hash TEXT NOT NULL,
    storage_target TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    used_at TIMESTAMPTZ
);
CREATE INDEX lti_logins_created ON lti_logins (created_at);

-- Course contexts seen in launches, with their AGS and NRPS endpoints, for
-- the sync job.
CREATE TABLE lti_contexts (
    platform_id UUID NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    title TEXT,
    label TEXT,
    lineitems_url TEXT,
    ags_scopes TEXT[] NOT NULL DEFAULT '{}',
    memberships_url TEXT,
    synced_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, context_id)
);

-- A deep linking request waiting for the instructor's choice.
CREATE TABLE lti_deep_links (
    id TEXT PRIMARY KEY,
    platform_id UUID NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL,
    return_url TEXT NOT NULL,
    data TEXT,
    context_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    used_at TIMESTAMPTZ
);

-- One-time links an admin pastes into Moodle or Canvas to register Akashi
-- (LTI Dynamic Registration).
CREATE TABLE lti_registration_links (
    token_hash TEXT PRIMARY KEY,
    user_source TEXT,
    tenant_issuer_id UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    platform_id UUID
);

-- Awards the issuer made, as `badge.issued` told us: the launch page shows
-- learners their badges with links to them.
CREATE TABLE known_awards (
    award_id UUID PRIMARY KEY,
    badge_class_id UUID NOT NULL,
    learner_email TEXT NOT NULL,
    badge_page TEXT NOT NULL,
    issued_on TIMESTAMPTZ NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX known_awards_learner ON known_awards (learner_email);
