-- Gatehouse schema, version 1: schools, people, accounts, sessions, tokens, groups, audit.
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SS.ffffffZ'; dates are 'YYYY-MM-DD'.

CREATE TABLE schools (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES schools(id),
    kind        TEXT NOT NULL CHECK (kind IN ('staff','governor','pupil','parent','visitor','volunteer')),
    mis_id      TEXT,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    email       TEXT,
    year_group  TEXT,
    class_name  TEXT,
    job_title   TEXT,
    start_date  TEXT,
    leave_date  TEXT,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (school_id, kind, mis_id)
);
CREATE INDEX people_by_name ON people (school_id, last_name, first_name);
CREATE INDEX people_by_class ON people (school_id, class_name);
CREATE INDEX people_by_email ON people (school_id, kind, email);

CREATE TABLE parent_links (
    parent_id   INTEGER NOT NULL REFERENCES people(id),
    child_id    INTEGER NOT NULL REFERENCES people(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX parent_links_by_child ON parent_links (child_id);

-- Groups are derived from a person's year, class or kind, or explicit (members listed).
CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    school_id  INTEGER NOT NULL REFERENCES schools(id),
    name       TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('year','class','kind','explicit')),
    rule_key   TEXT,
    UNIQUE (school_id, name)
);

CREATE TABLE group_members (
    group_id   INTEGER NOT NULL REFERENCES groups(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (group_id, person_id)
);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    school_id      INTEGER NOT NULL REFERENCES schools(id),
    person_id      INTEGER REFERENCES people(id),
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    mfa_secret     TEXT,
    mfa_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE role_assignments (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    role        TEXT NOT NULL,
    PRIMARY KEY (account_id, role)
);

CREATE TABLE recovery_codes (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    code_hash   TEXT NOT NULL,
    used_at     TEXT,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    mfa_passed    INTEGER NOT NULL CHECK (mfa_passed IN (0, 1)),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    label         TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

-- Append-only: each row carries the hash of the one before it (see domain::audit).
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    ip         TEXT,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_by_target ON audit_log (target);
CREATE INDEX audit_by_actor ON audit_log (actor, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
