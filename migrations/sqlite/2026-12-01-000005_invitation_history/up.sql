-- The invitation history: when a pending invitation was last sent again (NULL until it is
-- resent; it was last sent when it was made), and an index for the history filtered by status,
-- newest first. Unfiltered it reads invitations_org_created; pending and expired ones are also
-- in invitations_pending_created.
ALTER TABLE invitations ADD COLUMN resent_at TIMESTAMP;
CREATE INDEX invitations_org_status_created ON invitations (org_id, status, created_at, id);
