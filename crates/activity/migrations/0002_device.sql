-- The registered device that asked (DNS over HTTPS with a device token), by name
-- (interned in `strings`); NULL for every other query.
ALTER TABLE events ADD COLUMN device INTEGER REFERENCES strings (id);
CREATE INDEX events_device ON events (device, time_us) WHERE device IS NOT NULL;
