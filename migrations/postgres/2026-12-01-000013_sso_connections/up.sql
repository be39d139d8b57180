-- Single sign-on (OpenID Connect), one connection per organization. The client secret is kept
-- sealed (an AEAD under a key derived from the session key), never in clear.
CREATE TABLE sso_connections (
    org_id               TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    issuer               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL,
    base_role            TEXT NOT NULL,
    require_sso          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

-- The email domains a connection covers: a domain belongs to one organization at most, so
-- "Sign in with SSO" finds one connection for an address.
CREATE TABLE sso_domains (
    domain  TEXT PRIMARY KEY,
    org_id  TEXT NOT NULL REFERENCES sso_connections (org_id) ON DELETE CASCADE
);
CREATE INDEX sso_domains_org ON sso_domains (org_id);

-- Which account a person of the provider (its subject) is: written at their first sign-in
-- (a new account) or when the owner of an existing account confirms the link, never from an
-- email address alone.
CREATE TABLE sso_links (
    org_id      TEXT NOT NULL REFERENCES sso_connections (org_id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    linked_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, subject)
);
CREATE UNIQUE INDEX sso_links_account ON sso_links (org_id, account_id);
CREATE INDEX sso_links_of_account ON sso_links (account_id);

-- Sign-ins under way at a provider: one row per authorization request, taken (deleted) by its
-- callback, so a state is good once. The PKCE verifier and the nonce never leave the server.
CREATE TABLE sso_flows (
    state_hash     TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES sso_connections (org_id) ON DELETE CASCADE,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    link_account   TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    next           TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX sso_flows_created ON sso_flows (created_at);
