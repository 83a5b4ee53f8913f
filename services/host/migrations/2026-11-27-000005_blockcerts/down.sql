DROP TABLE hosted_blockcerts;
ALTER TABLE hosted_issuers DROP COLUMN blockcerts_profile;
