-- The activity log: raw events (interned strings) and daily aggregates.

-- Repeated short strings: person, group, identification, query type, category, rule,
-- matched list.
CREATE TABLE strings (
    id INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);

-- Domain names (query names and CNAME targets). `rev` is the name reversed character by
-- character, so a suffix search is an index range.
CREATE TABLE domains (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rev TEXT NOT NULL
);
CREATE INDEX domains_rev ON domains (rev);

-- One row per filtering decision. `time_us` is microseconds since the Unix epoch (UTC).
-- action: 0 allow, 1 log, 2 warn, 3 block. rcode: the DNS response code.
-- transport: 0 udp, 1 tcp, 2 https.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    client TEXT NOT NULL,
    person INTEGER REFERENCES strings (id),
    grp INTEGER NOT NULL REFERENCES strings (id),
    identified_by INTEGER NOT NULL REFERENCES strings (id),
    qname INTEGER NOT NULL REFERENCES domains (id),
    qtype INTEGER NOT NULL REFERENCES strings (id),
    category INTEGER REFERENCES strings (id),
    action INTEGER NOT NULL,
    rule INTEGER NOT NULL REFERENCES strings (id),
    matched_list INTEGER REFERENCES strings (id),
    cname INTEGER REFERENCES domains (id),
    rcode INTEGER NOT NULL,
    upstream_latency_us INTEGER,
    cached INTEGER NOT NULL,
    transport INTEGER NOT NULL
);
CREATE INDEX events_time ON events (time_us);
CREATE INDEX events_person ON events (person, time_us) WHERE person IS NOT NULL;
CREATE INDEX events_client ON events (client, time_us);
CREATE INDEX events_qname ON events (qname, time_us);
CREATE INDEX events_category ON events (category, time_us) WHERE category IS NOT NULL;

-- Counts per UTC day, person (empty when unidentified), group, category (empty when
-- none) and action, folded from raw events before they are deleted.
CREATE TABLE daily (
    day TEXT NOT NULL,
    person TEXT NOT NULL,
    grp TEXT NOT NULL,
    category TEXT NOT NULL,
    action INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, person, grp, category, action)
) WITHOUT ROWID;
