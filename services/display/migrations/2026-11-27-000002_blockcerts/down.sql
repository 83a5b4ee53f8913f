DROP TABLE known_blockcerts;
