DROP TABLE hosted_keys;
ALTER TABLE hosted_assertions DROP COLUMN ob2_signed_jws, DROP COLUMN ob3_credential, DROP COLUMN ob3_jwt;
