DROP INDEX IF EXISTS invitations_pending_search;
