-- The school whose filter decided, by name (interned in `strings`): an installation
-- serves one school, whose name the writer puts on every event. NULL for events written
-- before this column existed.
ALTER TABLE events ADD COLUMN school INTEGER REFERENCES strings (id);
