-- Which issuer an award is from, to show it in the issuer's presentation.
ALTER TABLE known_awards ADD COLUMN issuer_id UUID;
-- How each issuer's pages and certificates look (from issuer.published):
-- dates in its time zone, its logo and its certificates' signatory.
CREATE TABLE issuer_presentations (
  issuer_id UUID PRIMARY KEY,
  time_zone TEXT NOT NULL,
  logo BYTEA,
  logo_content_type TEXT,
  signatory_name TEXT,
  signatory_title TEXT,
  signature BYTEA,
  signature_content_type TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
