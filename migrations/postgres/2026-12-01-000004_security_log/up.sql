-- The security log of each account: sign-ins, password and address changes, sessions ended,
-- as only the account's owner sees them. Kept for STEWARD_SECURITY_LOG_RETENTION.
CREATE TABLE security_events (
    id            BIGSERIAL PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    occurred_at   TIMESTAMP NOT NULL,
    kind          TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX security_events_account ON security_events (account_id, occurred_at);
CREATE INDEX security_events_occurred ON security_events (occurred_at);
