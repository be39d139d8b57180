DROP INDEX invitations_org_status_created;
ALTER TABLE invitations DROP COLUMN resent_at;
