-- Deliveries a channel could not handle, sealed to the custodian, once per
-- provider id. They hold no clear content.
CREATE TABLE quarantine (
    idem_key BLOB PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    day      TEXT NOT NULL,
    blob     BLOB NOT NULL
) STRICT;
