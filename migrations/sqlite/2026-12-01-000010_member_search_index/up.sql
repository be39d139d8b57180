-- The email order's index carries the name's search key instead of the name: a search that
-- matches many members walks this index in order and tests each entry without reading its row.
DROP INDEX memberships_org_email;
CREATE INDEX memberships_org_email ON memberships (org_id, email, account_id, status, role, name_key);
