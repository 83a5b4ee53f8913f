DROP TABLE known_awards;
