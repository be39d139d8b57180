DROP INDEX IF EXISTS memberships_search;
