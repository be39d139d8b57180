-- Member search through a trigram index (pg_trgm). A member is found by a substring of their
-- email or name in any case: `name_key` is the name in lower case, folded by the application
-- (Unicode's rules, the same on both backends whatever the database's locale) and written with
-- every name; emails are stored in lower case already. Names of printable ASCII are folded
-- here (translate, not lower(), which follows the locale); the others are folded by the
-- application at start, before it serves (storage::members::fill_name_keys). The indexes themselves are
-- built by the next two migrations, CONCURRENTLY, without blocking writes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE memberships ADD COLUMN name_key TEXT;
UPDATE memberships SET name_key = translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
    WHERE name ~ '^[ -~]*$';
-- the rows still to fold, found at once (empty once they are)
CREATE INDEX memberships_name_key_missing ON memberships (org_id) WHERE name_key IS NULL;
