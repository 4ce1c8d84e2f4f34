-- Review dossiers: one review body and one State each. Items are frozen
-- anonymised versions, sealed twice: to the desk key and to the review
-- body's recipients (age cannot mix post-quantum and classic recipients in
-- one file, and the two may differ).
CREATE TABLE dossiers (
    name        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    country     TEXT NOT NULL,
    recipients  TEXT NOT NULL,          -- review body's age recipients, one a line
    publishable INTEGER NOT NULL DEFAULT 0,
    word_limit  INTEGER NOT NULL DEFAULT 0,
    created_day TEXT NOT NULL
) STRICT;

CREATE TABLE dossier_items (
    dossier    TEXT NOT NULL REFERENCES dossiers(name),
    report_id  TEXT NOT NULL,
    desk_blob  BLOB NOT NULL,
    body_blob  BLOB NOT NULL,
    sha256     TEXT NOT NULL,           -- of the frozen item JSON
    added_by   TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (dossier, report_id)
) STRICT;
