-- The whole schema of Steward's concepts. Emails are stored normalised (trimmed,
-- lower-cased) by the application; the unique index then holds "one account per email".
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    session_epoch  BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    last_login_at  TIMESTAMP
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    -- bumped by every change to the organization: the row lock that serialises its writers
    revision    BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- copies of the account's email (which never changes) and name (kept in step by the
    -- profile), so that the member list of a large organization is one indexed table
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    status          TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at      TIMESTAMP NOT NULL,
    last_active_at  TIMESTAMP,
    PRIMARY KEY (org_id, account_id)
);
-- at most one owner per organization, whatever the application does
CREATE UNIQUE INDEX memberships_one_owner ON memberships (org_id) WHERE role = 'owner';
CREATE INDEX memberships_account ON memberships (account_id);
-- the member list's three sort orders, each with its tie-breaker, so a page is an index range
CREATE INDEX memberships_org_email ON memberships (org_id, email, account_id);
CREATE INDEX memberships_org_created ON memberships (org_id, created_at, account_id);
CREATE INDEX memberships_org_last_active ON memberships (org_id, last_active_at, account_id);

CREATE TABLE invitations (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    token_hash    TEXT NOT NULL,
    invited_by    TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    responded_at  TIMESTAMP
);
CREATE UNIQUE INDEX invitations_token_key ON invitations (token_hash);
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email) WHERE status = 'pending';
CREATE INDEX invitations_email ON invitations (email, status);
CREATE INDEX invitations_org_email ON invitations (org_id, email, id);
CREATE INDEX invitations_org_created ON invitations (org_id, created_at, id);

CREATE TABLE deployments (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    created_by  TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX deployments_org_name ON deployments (org_id, name);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    -- the public part of the secret, so that verifying a key is one indexed lookup
    lookup        TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    permissions   TEXT NOT NULL CHECK (permissions IN ('read', 'write', 'read_write')),
    scope         TEXT NOT NULL CHECK (scope IN ('all', 'selected')),
    expires_at    TIMESTAMP,
    created_by    TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP,
    revoked_at    TIMESTAMP
);
CREATE UNIQUE INDEX api_keys_lookup_key ON api_keys (lookup);
CREATE INDEX api_keys_org_created ON api_keys (org_id, created_at);

CREATE TABLE api_key_deployments (
    api_key_id     TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    deployment_id  TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, deployment_id)
);
CREATE INDEX api_key_deployments_deployment ON api_key_deployments (deployment_id);

CREATE TABLE audit_events (
    id            BIGSERIAL PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- position in the organization's hash chain; unique so that two writers can never fork it
    seq           BIGINT NOT NULL,
    occurred_at   TIMESTAMP NOT NULL,
    action        TEXT NOT NULL,
    actor_kind    TEXT NOT NULL CHECK (actor_kind IN ('account', 'api_key', 'system')),
    actor_id      TEXT,
    actor_email   TEXT,
    target        TEXT,
    target_email  TEXT,
    ip            TEXT,
    user_agent    TEXT,
    details       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_events_chain ON audit_events (org_id, seq);
CREATE INDEX audit_events_org_id ON audit_events (org_id, id);
CREATE INDEX audit_events_org_action ON audit_events (org_id, action, id);
CREATE INDEX audit_events_org_actor ON audit_events (org_id, actor_email, id);
CREATE INDEX audit_events_org_target ON audit_events (org_id, target_email, id);
CREATE INDEX audit_events_org_time ON audit_events (org_id, occurred_at, id);
