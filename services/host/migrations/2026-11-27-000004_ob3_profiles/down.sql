ALTER TABLE hosted_issuers DROP COLUMN ob3_profile;
