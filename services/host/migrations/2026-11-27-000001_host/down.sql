DROP TABLE revocations;
DROP TABLE hosted_assertions;
DROP TABLE hosted_badge_classes;
DROP TABLE hosted_issuers;
