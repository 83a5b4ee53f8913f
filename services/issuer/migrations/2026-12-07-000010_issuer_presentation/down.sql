DROP TABLE issuer_presentations;
