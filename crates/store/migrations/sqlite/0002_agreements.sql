-- Acceptable use agreements: policies, their versions, and the signature ledger.

CREATE TABLE policies (
    id            INTEGER PRIMARY KEY,
    school_id     INTEGER NOT NULL REFERENCES schools(id),
    title         TEXT NOT NULL,
    audience      TEXT NOT NULL CHECK (audience IN ('staff','governors','visitors','pupils_early','pupils_primary','pupils_secondary','parents')),
    owner         TEXT NOT NULL,
    days_to_sign  INTEGER NOT NULL CHECK (days_to_sign BETWEEN 0 AND 365),
    annual_from   TEXT,            -- 'MM-DD' to re-sign every academic year, or NULL
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE policy_versions (
    id            INTEGER PRIMARY KEY,
    policy_id     INTEGER NOT NULL REFERENCES policies(id),
    number        INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft','approved','published','superseded')),
    body          TEXT NOT NULL,   -- canonical Markdown
    hash          TEXT NOT NULL,   -- SHA-256 of body
    material      INTEGER NOT NULL CHECK (material IN (0, 1)),
    change_note   TEXT NOT NULL DEFAULT '',
    approved_by   TEXT,
    approved_on   TEXT,
    effective_on  TEXT,
    review_on     TEXT,
    published_at  TEXT,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (policy_id, number)
);

-- A published version's text never changes: make a new version instead.
CREATE TRIGGER policy_versions_published_text BEFORE UPDATE OF body, hash, material ON policy_versions
WHEN OLD.status IN ('published', 'superseded')
BEGIN SELECT RAISE(ABORT, 'a published version cannot be edited; make a new version'); END;
CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
WHEN OLD.status IN ('published', 'superseded')
BEGIN SELECT RAISE(ABORT, 'a published version cannot be deleted'); END;

-- Append-only ledger: each record carries the hash of the one before it.
CREATE TABLE signatures (
    seq            INTEGER PRIMARY KEY,
    school_id      INTEGER NOT NULL REFERENCES schools(id),
    person_id      INTEGER NOT NULL REFERENCES people(id),   -- whose agreement
    signer_id      INTEGER NOT NULL REFERENCES people(id),   -- who signed (the person or a parent)
    relation       TEXT NOT NULL CHECK (relation IN ('self','parent')),
    policy_id      INTEGER NOT NULL REFERENCES policies(id),
    version_id     INTEGER NOT NULL REFERENCES policy_versions(id),
    version_number INTEGER NOT NULL,
    version_hash   TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('sign','withdraw')),
    method         TEXT NOT NULL CHECK (method IN ('online','paper')),
    typed_name     TEXT NOT NULL,
    signed_on      TEXT NOT NULL,  -- date of the signature (for paper: the date written on it)
    recorded_at    TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    ip             TEXT,
    user_agent     TEXT,
    scan_sha256    TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX signatures_by_person ON signatures (person_id, policy_id);
CREATE INDEX signatures_by_policy ON signatures (policy_id);

CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;

-- Reminders and digests already sent, so each is sent once.
CREATE TABLE reminders_sent (
    person_id   INTEGER NOT NULL REFERENCES people(id),
    reminder    TEXT NOT NULL,    -- e.g. 'policy:3:v2:before7', 'policy:3:v2:overdue:4', 'digest:2026-W47'
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (person_id, reminder)
);
