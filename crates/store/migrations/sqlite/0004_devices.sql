-- School devices registered for DNS over HTTPS. Each has a secret token, of which only
-- the SHA-256 (hex) is kept, and is assigned to a person, to a filtering group (policy
-- name), or to neither (then the policy for unidentified devices applies). Revoked
-- devices are kept for the record; their name may be reused.

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    school_id     INTEGER NOT NULL REFERENCES schools(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('laptop','chromebook','tablet','desktop','phone','other')),
    asset_tag     TEXT,
    person_id     INTEGER REFERENCES people(id),
    filter_group  TEXT,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_seen_at  TEXT,
    CHECK (person_id IS NULL OR filter_group IS NULL)
);
CREATE UNIQUE INDEX devices_live_name ON devices (school_id, name COLLATE NOCASE)
    WHERE revoked_at IS NULL;
CREATE INDEX devices_by_person ON devices (person_id) WHERE person_id IS NOT NULL;
