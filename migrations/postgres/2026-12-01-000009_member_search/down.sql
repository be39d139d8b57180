DROP INDEX memberships_name_key_missing;
ALTER TABLE memberships DROP COLUMN name_key;
