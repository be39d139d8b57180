-- Rate limits shared by every instance on this database: one bucket per limit and key (the
-- limit's name and the SHA-256 of the address, email or id it counts, never the value itself),
-- holding the theoretical arrival time of the next request in microseconds since the epoch.
-- `refused` is the answer to the last check, returned by the same statement that made it.
-- No index on `tat`: every check rewrites it, and only the housekeeping scans it.
CREATE TABLE rate_limits (
    key      TEXT PRIMARY KEY NOT NULL,
    tat      BIGINT NOT NULL,
    refused  BOOLEAN NOT NULL DEFAULT FALSE
);

-- Work that one instance at a time does (the housekeeping): whoever holds the row until
-- `held_until` does it; another instance may take it once that time has passed.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    held_until  TIMESTAMP NOT NULL
);
