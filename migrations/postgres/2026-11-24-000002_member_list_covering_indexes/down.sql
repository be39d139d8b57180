DROP INDEX invitations_pending_created;
DROP INDEX invitations_pending_email;
DROP INDEX memberships_org_email;
CREATE INDEX memberships_org_email ON memberships (org_id, email, account_id);
DROP INDEX memberships_org_created;
CREATE INDEX memberships_org_created ON memberships (org_id, created_at, account_id);
DROP INDEX memberships_org_last_active;
CREATE INDEX memberships_org_last_active ON memberships (org_id, last_active_at, account_id);
