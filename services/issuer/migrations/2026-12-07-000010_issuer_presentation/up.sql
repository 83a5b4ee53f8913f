-- How an issuer's badge pages and certificates look: the time zone its
-- dates are shown in, its logo, and who signs its certificates. Not part of
-- any credential, so it can change at any time.
CREATE TABLE issuer_presentations (
  issuer_id UUID PRIMARY KEY REFERENCES issuers (id),
  time_zone TEXT NOT NULL DEFAULT 'UTC',
  logo BYTEA,
  logo_content_type TEXT,
  signatory_name TEXT,
  signatory_title TEXT,
  signature BYTEA,
  signature_content_type TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
