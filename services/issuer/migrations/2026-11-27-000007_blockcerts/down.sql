DROP TABLE blockcerts_pending;
DROP TABLE blockcerts_batches;
