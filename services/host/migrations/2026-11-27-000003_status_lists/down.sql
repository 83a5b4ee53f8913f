DROP TABLE hosted_status_lists;
