ALTER TABLE verifications DROP COLUMN api_client_id;
DROP TABLE api_clients;
