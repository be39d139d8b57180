DROP TRIGGER invitations_list_reordered ON invitations;
DROP TRIGGER invitations_list_changed ON invitations;
DROP TRIGGER memberships_list_reordered ON memberships;
DROP TRIGGER memberships_list_changed ON memberships;
DROP TRIGGER organizations_list_version ON organizations;
DROP FUNCTION member_list_version_bump();
DROP FUNCTION member_list_version_new_org();
DROP TABLE member_list_versions;
