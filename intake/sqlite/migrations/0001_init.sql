-- Corridor schema v1. Stored in clear: ids, channel, language, desk, topic
-- codes, state, day received, keyed hashes and public recipients. Everything
-- a sender wrote is in the sealed blobs (age ciphertext).
CREATE TABLE desks (
    name        TEXT PRIMARY KEY,
    created_day TEXT NOT NULL
) STRICT;

CREATE TABLE desk_keys (
    id          TEXT PRIMARY KEY,
    desk        TEXT NOT NULL REFERENCES desks(name),
    recipient   TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_day TEXT NOT NULL
) STRICT;
CREATE INDEX desk_keys_desk ON desk_keys(desk, active);

-- A desk identity, wrapped (age-encrypted) to one member's recipient.
CREATE TABLE desk_key_wraps (
    key_id    TEXT NOT NULL REFERENCES desk_keys(id),
    member    TEXT NOT NULL,
    wrapped   BLOB NOT NULL,
    PRIMARY KEY (key_id, member)
) STRICT;

CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    idem_key    BLOB NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    language    TEXT NOT NULL,
    desk        TEXT NOT NULL,
    desk_key_id TEXT NOT NULL,
    topic       TEXT NOT NULL,
    state       TEXT NOT NULL,
    received    TEXT NOT NULL,
    pseudonym   TEXT NOT NULL,
    raw_sha256  TEXT NOT NULL
) STRICT;
CREATE INDEX reports_desk ON reports(desk, state, received);
CREATE INDEX reports_pseudonym ON reports(pseudonym);

CREATE TABLE entries (
    report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    desk      BLOB NOT NULL,
    custodian BLOB,
    PRIMARY KEY (report_id, seq)
) STRICT;

CREATE TABLE receipts (
    hash      BLOB PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE
) STRICT;

-- Consent as data (DO-NO-HARM R3): append-only; withdrawal is a new row.
CREATE TABLE consents (
    id           INTEGER PRIMARY KEY,
    report_id    TEXT NOT NULL,
    text_version TEXT NOT NULL,
    language     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    day          TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    method       TEXT NOT NULL
) STRICT;
CREATE INDEX consents_report ON consents(report_id);

CREATE TABLE report_tags (
    report_id TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    code      TEXT NOT NULL,
    PRIMARY KEY (report_id, code)
) STRICT;

-- Hash-chained audit log: no content, only who did what to which id.
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY,
    time   TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL
) STRICT;
