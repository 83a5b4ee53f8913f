-- Fails if it ever runs twice: no IF NOT EXISTS, and a row per run.
CREATE TABLE ledger (run INT PRIMARY KEY);
INSERT INTO ledger VALUES (1);
