ALTER TABLE memberships DROP COLUMN custom_role_ids;
ALTER TABLE memberships DROP COLUMN invited_by;
ALTER TABLE api_keys DROP COLUMN grants;
DROP TABLE invitation_roles;
DROP TABLE member_roles;
DROP TABLE roles;
