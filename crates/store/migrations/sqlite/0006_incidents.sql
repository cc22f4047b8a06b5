-- Incidents and concerns: the record, the people involved, its append-only chronology,
-- evidence files, and the data-breach details (the UK GDPR article 33(5) record).

CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY,
    school_id           INTEGER NOT NULL REFERENCES schools(id),
    kind                TEXT NOT NULL CHECK (kind IN ('online_safety','safeguarding','cyberbullying',
                            'inappropriate_content','nude_image_sharing','radicalisation',
                            'device_misuse','filtering_failure','data_breach',
                            'neutral_notification','low_level_concern')),
    summary             TEXT NOT NULL,
    description         TEXT NOT NULL,
    severity            TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
    status              TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','in_progress','closed')),
    outcome             TEXT,
    occurred_at         TEXT NOT NULL,
    reported_at         TEXT NOT NULL,
    reporter            TEXT NOT NULL,          -- username of who reported it
    reporter_account_id INTEGER REFERENCES accounts(id),
    assignee            TEXT,                   -- username of who deals with it
    CHECK (status <> 'closed' OR outcome IS NOT NULL)
);
CREATE INDEX incidents_school ON incidents (school_id, status, id);
CREATE INDEX incidents_reporter ON incidents (reporter_account_id, id);

CREATE TABLE incident_people (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    person_id    INTEGER REFERENCES people(id),   -- NULL for someone not in the directory
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('pupil','staff','other')),
    involvement  TEXT NOT NULL CHECK (involvement IN ('affected','alleged','witness','other'))
);
CREATE INDEX incident_people_incident ON incident_people (incident_id);
CREATE INDEX incident_people_person ON incident_people (person_id);

-- The chronology: entries are only ever added. A correction is a new entry naming the
-- one it corrects.
CREATE TABLE incident_entries (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    kind         TEXT NOT NULL,
    text         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,          -- when it was done
    recorded_at  TEXT NOT NULL,          -- when it was written down
    recorded_by  TEXT NOT NULL,
    done_by      TEXT,                   -- who did it, when not who recorded it
    method       TEXT,                   -- how (phone, letter, meeting, online form)
    agency       TEXT,                   -- referrals
    reference    TEXT,                   -- referral or ICO reference
    corrects     INTEGER REFERENCES incident_entries(id),
    override_id  INTEGER REFERENCES filter_overrides(id),
    CHECK (kind <> 'correction' OR corrects IS NOT NULL)
);
CREATE INDEX incident_entries_incident ON incident_entries (incident_id, id);
CREATE INDEX incident_entries_override ON incident_entries (override_id, kind);

CREATE TRIGGER incident_entries_no_update BEFORE UPDATE ON incident_entries
BEGIN
    SELECT RAISE(ABORT, 'the chronology is append-only: add a correction instead');
END;
CREATE TRIGGER incident_entries_no_delete BEFORE DELETE ON incident_entries
BEGIN
    SELECT RAISE(ABORT, 'the chronology is append-only: add a correction instead');
END;

CREATE TABLE incident_attachments (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    sha256       TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    mime         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    added_by     TEXT NOT NULL,
    added_at     TEXT NOT NULL
);
CREATE INDEX incident_attachments_incident ON incident_attachments (incident_id);
CREATE TRIGGER incident_attachments_no_update BEFORE UPDATE ON incident_attachments
BEGIN
    SELECT RAISE(ABORT, 'evidence files are kept as they were added');
END;
CREATE TRIGGER incident_attachments_no_delete BEFORE DELETE ON incident_attachments
BEGIN
    SELECT RAISE(ABORT, 'evidence files are kept as they were added');
END;

CREATE TABLE incident_breaches (
    incident_id     INTEGER PRIMARY KEY REFERENCES incidents(id),
    discovered_at   TEXT NOT NULL,
    near_miss       INTEGER NOT NULL DEFAULT 0,
    data            TEXT NOT NULL DEFAULT '',
    people_count    INTEGER,
    records_count   INTEGER,
    consequences    TEXT NOT NULL DEFAULT '',
    risk            TEXT CHECK (risk IN ('none','risk','high')),
    decision        TEXT CHECK (decision IN ('report','not_report')),
    decision_reason TEXT,
    ico_reference   TEXT,
    people_told     INTEGER,
    measures        TEXT NOT NULL DEFAULT '',
    CHECK (decision IS NOT 'not_report' OR length(trim(decision_reason)) > 0)
);
