-- The member list's sort indexes also carry the columns it filters on (status, role) and, for
-- the email order, the name it searches: a filtered or searched page then tests each row in
-- the index and reads the table only for the rows it shows, and a search's total is counted
-- from the index alone.
DROP INDEX memberships_org_email;
CREATE INDEX memberships_org_email ON memberships (org_id, email, account_id, status, role, name);
DROP INDEX memberships_org_created;
CREATE INDEX memberships_org_created ON memberships (org_id, created_at, account_id, status, role);
DROP INDEX memberships_org_last_active;
CREATE INDEX memberships_org_last_active ON memberships (org_id, last_active_at, account_id, status, role);
-- Pending invitations (the other half of the list) in the list's two orders, holding every
-- column the list reads: their page and their count never visit the invitations an
-- organization has accumulated over the years (accepted, declined, cancelled).
CREATE INDEX invitations_pending_email ON invitations (org_id, email, id, status, role, created_at, expires_at)
    WHERE status = 'pending';
CREATE INDEX invitations_pending_created ON invitations (org_id, created_at, id, status, role, email, expires_at)
    WHERE status = 'pending';
