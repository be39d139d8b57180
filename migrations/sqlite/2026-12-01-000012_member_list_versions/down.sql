DROP TRIGGER invitations_list_update;
DROP TRIGGER invitations_list_delete;
DROP TRIGGER invitations_list_insert;
DROP TRIGGER memberships_list_update;
DROP TRIGGER memberships_list_delete;
DROP TRIGGER memberships_list_insert;
DROP TRIGGER organizations_list_version;
DROP TABLE member_list_versions;
