DROP TRIGGER invitations_search_delete;
DROP TRIGGER invitations_search_update;
DROP TRIGGER invitations_search_insert;
DROP TABLE invitation_search;
DROP INDEX invitations_search_id;
ALTER TABLE invitations DROP COLUMN search_id;
