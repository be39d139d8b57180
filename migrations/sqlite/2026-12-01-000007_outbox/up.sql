-- The mail outbox: every email Steward sends is written here in the transaction of the change
-- that sends it, and delivered by a background worker that retries until it goes through.
-- body holds the whole formatted message (headers and all) until it is sent or expires, then
-- it is deleted, so that the tokens it carries do not linger. claimed_until is a lease: the
-- instance delivering a message holds it until then, and nobody else sends it meanwhile.
-- expires_at is the expiry of the link the message carries (NULL for a notice).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    envelope_from   TEXT,
    body            BLOB,
    invitation_id   TEXT REFERENCES invitations (id) ON DELETE CASCADE,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT,
    claimed_until   TIMESTAMP,
    sent_at         TIMESTAMP,
    expires_at      TIMESTAMP,
    expired_at      TIMESTAMP
);
-- the worker's question: which undelivered messages are due
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND expired_at IS NULL;
-- the member list's and the invitation history's: the newest message of an invitation
CREATE INDEX outbox_invitation ON outbox (invitation_id, created_at) WHERE invitation_id IS NOT NULL;
