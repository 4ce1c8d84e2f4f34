-- Moderation: console accounts, assignment, redaction derivations.
CREATE TABLE accounts (
    login         TEXT PRIMARY KEY,
    role          TEXT NOT NULL,            -- moderator | lead | admin
    recipient     TEXT NOT NULL,            -- the person's own age recipient
    desks         TEXT NOT NULL,            -- comma-separated desk names
    pass_hash     TEXT NOT NULL,            -- argon2id, encoded with its parameters and salt
    totp_sealed   BLOB NOT NULL,            -- TOTP secret, AEAD under the deployment secret
    totp_enrolled INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_day   TEXT NOT NULL
) STRICT;

ALTER TABLE reports ADD COLUMN assignee TEXT NOT NULL DEFAULT '';

-- Each redaction makes a new anonymised version (an entry of kind
-- "version"); this records parent -> child (SHA-256 of the anonymised
-- texts), who and when (DO-NO-HARM R18). No content.
CREATE TABLE derivations (
    report_id     TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    parent_sha256 TEXT NOT NULL,
    child_sha256  TEXT NOT NULL,
    actor         TEXT NOT NULL,
    time          TEXT NOT NULL,
    PRIMARY KEY (report_id, seq)
) STRICT;

CREATE INDEX reports_state ON reports(state, received);
CREATE INDEX report_tags_code ON report_tags(code);
