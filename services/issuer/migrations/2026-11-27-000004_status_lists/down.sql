ALTER TABLE award_credentials DROP COLUMN status_list_no, DROP COLUMN status_index;
DROP TABLE status_lists;
DROP SEQUENCE status_list_positions;
