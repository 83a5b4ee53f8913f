DROP TABLE awards;
DROP TABLE badge_classes;
DROP TABLE issuers;
