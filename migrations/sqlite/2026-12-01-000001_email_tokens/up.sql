-- Verified email and password reset. An account's email is verified once its owner proves they
-- read it; accounts made before this step are taken as verified. Tokens are mailed once and
-- stored only as their SHA-256, single use, with an expiry.
ALTER TABLE accounts ADD COLUMN email_verified_at TIMESTAMP;
UPDATE accounts SET email_verified_at = created_at;

CREATE TABLE account_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    -- the address the link was sent to: a verification counts only while it is still the account's
    email       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);
