DROP TABLE issuer_presentations; ALTER TABLE known_awards DROP COLUMN issuer_id;
