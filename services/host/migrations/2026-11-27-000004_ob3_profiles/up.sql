-- The OB 3.0 issuer Profile / key controller document, served at /ob3/issuers/{id}.
ALTER TABLE hosted_issuers ADD COLUMN ob3_profile JSONB;
