DROP TABLE earner_preferences;
