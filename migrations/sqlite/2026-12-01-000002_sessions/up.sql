-- Sessions live on the server: the cookie names a row by a secret whose SHA-256 is kept here,
-- never the secret. Only signed-in accounts have rows; signing out deletes the row, so a copied
-- cookie is worthless afterwards.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY NOT NULL,
    token_hash    TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    ip            TEXT,
    user_agent    TEXT
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_account ON sessions (account_id, created_at);
