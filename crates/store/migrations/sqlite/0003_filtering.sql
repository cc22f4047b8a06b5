-- The web filter's own records: requests to unblock a site, the overrides that decisions
-- write into the filter, and captive-portal sign-ins binding a client address to a person.

CREATE TABLE unblock_requests (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL REFERENCES schools(id),
    created_at   TEXT NOT NULL,
    host         TEXT NOT NULL,
    category     TEXT,
    rule         TEXT NOT NULL,          -- the filter rule that blocked it
    client_ip    TEXT,
    person_id    INTEGER REFERENCES people(id),
    group_name   TEXT NOT NULL,          -- the filter group the block applied to
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','declined')),
    scope        TEXT CHECK (scope IN ('person','group','school')),
    until        TEXT,                   -- approval ends (exclusive); NULL = no end
    decided_by   TEXT,
    decided_at   TEXT,
    note         TEXT
);
CREATE INDEX unblock_requests_status ON unblock_requests (school_id, status, id);
CREATE INDEX unblock_requests_person ON unblock_requests (person_id, id);

-- An override either sets an action for a host suffix (host NOT NULL) or for everything
-- (host NULL, person scope only: a sanction "internet removed"), or puts a person under
-- another group's policy (policy NOT NULL, person scope only: "restricted to the ks2 policy").
CREATE TABLE filter_overrides (
    id           INTEGER PRIMARY KEY,
    school_id    INTEGER NOT NULL REFERENCES schools(id),
    scope        TEXT NOT NULL CHECK (scope IN ('person','group','school')),
    subject      TEXT NOT NULL,          -- person id, group (policy) name, or '' for the school
    host         TEXT,                   -- host suffix; NULL = everything
    action       TEXT CHECK (action IN ('allow','block','warn','log')),
    policy       TEXT,                   -- the group policy that applies instead
    until        TEXT,                   -- end (exclusive); NULL = no end
    source       TEXT NOT NULL,          -- what wrote it, e.g. 'unblock:12'
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    ended_at     TEXT,                   -- lifted early
    CHECK ((action IS NULL) <> (policy IS NULL)),
    CHECK (scope = 'person' OR (host IS NOT NULL AND policy IS NULL))
);
CREATE INDEX filter_overrides_active ON filter_overrides (school_id, ended_at, until);

CREATE TABLE portal_sessions (
    client_ip    TEXT PRIMARY KEY,       -- one person per address at a time
    school_id    INTEGER NOT NULL REFERENCES schools(id),
    person_id    INTEGER NOT NULL REFERENCES people(id),
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    signed_in_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
