DROP INDEX memberships_org_email;
CREATE INDEX memberships_org_email ON memberships (org_id, email, account_id, status, role, name);
