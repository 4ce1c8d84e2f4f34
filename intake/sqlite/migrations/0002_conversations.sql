-- Conversations (SMS, WhatsApp, Telegram). A session holds only the flow
-- step, language, consent scopes and the report its sealed answers belong
-- to; nothing a sender wrote.
CREATE TABLE sessions (
    key        TEXT PRIMARY KEY,      -- pseudonym + channel
    version    INTEGER NOT NULL,
    step       TEXT NOT NULL,
    language   TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    answered   TEXT NOT NULL,         -- ids of the steps whose answers are sealed
    tag        TEXT NOT NULL,         -- plain routing tag (organisation code)
    report_id  TEXT NOT NULL,
    next_seq   INTEGER NOT NULL,
    expires    INTEGER NOT NULL       -- unix seconds
) STRICT;
CREATE INDEX sessions_expires ON sessions(expires);

-- Every provider delivery we answered (MessageSid, update_id): a keyed hash
-- and the reply sealed under a key derived from the provider id, so a retry
-- gets the same answer and is stored once, forever.
CREATE TABLE inbound (
    idem_key BLOB PRIMARY KEY,
    reply    BLOB NOT NULL
) STRICT;

-- Delivery outcomes of our replies, without content or numbers.
CREATE TABLE deliveries (
    sid_hash BLOB PRIMARY KEY,
    status   TEXT NOT NULL,
    day      TEXT NOT NULL
) STRICT;
