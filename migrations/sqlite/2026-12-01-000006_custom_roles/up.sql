-- Custom roles: an organization's own named sets of permissions, given to members on top of
-- their built-in (base) role and to invitations, which pass them on when accepted. Every
-- existing membership keeps its base role and so exactly its abilities.
CREATE TABLE roles (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- the name trimmed and in lower case: unique within the organization
    name_key     TEXT NOT NULL,
    description  TEXT NOT NULL,
    -- permission names separated by spaces
    permissions  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_org_name ON roles (org_id, name_key);

CREATE TABLE member_roles (
    org_id      TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    role_id     TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, account_id, role_id),
    FOREIGN KEY (org_id, account_id) REFERENCES memberships (org_id, account_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role ON member_roles (role_id, account_id);
-- the member's role ids, joined by commas: a copy of their member_roles rows, kept with them,
-- which the member list reads from the row it reads anyway
ALTER TABLE memberships ADD COLUMN custom_role_ids TEXT;

CREATE TABLE invitation_roles (
    invitation_id  TEXT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    role_id        TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (invitation_id, role_id)
);
CREATE INDEX invitation_roles_role ON invitation_roles (role_id, invitation_id);

-- An API key's exact permissions when chosen one by one (NULL for the read/write presets, whose
-- kind stays in `permissions`; for a key with grants `permissions` says which kinds of request
-- the grants cover).
ALTER TABLE api_keys ADD COLUMN grants TEXT;

-- Who invited each member (the inviter of the invitation they accepted), for "My access";
-- filled in from the invitations already accepted.
ALTER TABLE memberships ADD COLUMN invited_by TEXT REFERENCES accounts (id) ON DELETE SET NULL;
UPDATE memberships SET invited_by = (
    SELECT invitations.invited_by FROM invitations
    WHERE invitations.org_id = memberships.org_id
      AND invitations.email = memberships.email
      AND invitations.status = 'accepted'
    ORDER BY invitations.responded_at DESC
    LIMIT 1
);
