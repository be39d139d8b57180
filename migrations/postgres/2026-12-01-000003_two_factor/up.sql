-- Two-factor authentication (TOTP, RFC 6238). An account holds its base32 secret once
-- two-factor is on, when it was turned on, and the last 30-second step whose code was accepted
-- (a code is accepted once: a step at or before it is refused). Recovery codes are kept only as
-- their SHA-256 and each works once. An organization may require two-factor of its members.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enabled_at TIMESTAMP;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;

CREATE TABLE recovery_codes (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    used_at     TIMESTAMP,
    PRIMARY KEY (account_id, code_hash)
);

ALTER TABLE organizations ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
