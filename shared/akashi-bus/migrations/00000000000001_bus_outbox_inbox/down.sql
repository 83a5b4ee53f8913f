DROP TABLE bus_inbox;
DROP TABLE bus_outbox;
