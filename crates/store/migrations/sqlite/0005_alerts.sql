-- Monitoring alerts raised by the rules over the activity log, and their evidence.

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    school_id     INTEGER NOT NULL REFERENCES schools(id),
    rule          TEXT NOT NULL,          -- e.g. 'category:self_harm', 'keywords:weapons', 'burst'
    subject       TEXT NOT NULL,          -- 'person:ID' or 'client:IP'
    person_id     INTEGER REFERENCES people(id),
    client_ip     TEXT,
    group_name    TEXT NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('critical','high','medium','low')),
    summary       TEXT NOT NULL,
    first_at      TEXT NOT NULL,
    last_at       TEXT NOT NULL,
    count         INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    status        TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new','acknowledged','dismissed','escalated')),
    handled_by    TEXT,
    handled_at    TEXT,
    note          TEXT,                   -- the reason for a dismissal
    notified_at   TEXT,                   -- when the DSL was told (critical and high at once)
    incident_id   INTEGER                 -- the incident it was escalated into
);
CREATE INDEX alerts_status ON alerts (school_id, status, id);
CREATE INDEX alerts_person ON alerts (person_id, id);

-- Evidence: the activity events copied when they tripped the rule. Never changed.
CREATE TABLE alert_evidence (
    id        INTEGER PRIMARY KEY,
    alert_id  INTEGER NOT NULL REFERENCES alerts(id),
    at        TEXT NOT NULL,
    event     TEXT NOT NULL               -- JSON of the activity event
);
CREATE INDEX alert_evidence_alert ON alert_evidence (alert_id, id);
CREATE TRIGGER alert_evidence_no_update BEFORE UPDATE ON alert_evidence
BEGIN SELECT RAISE(ABORT, 'alert evidence cannot be changed'); END;
CREATE TRIGGER alert_evidence_no_delete BEFORE DELETE ON alert_evidence
BEGIN SELECT RAISE(ABORT, 'alert evidence cannot be deleted'); END;
