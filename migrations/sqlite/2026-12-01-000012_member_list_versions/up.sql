-- A number that moves whenever the member list's rows or their email order change (a member
-- joins or leaves, an email changes, an invitation is made or stops being pending), bumped by
-- triggers in the same transaction. A server keeps where each thousandth row of the list
-- stands (storage::member_list::Anchors) for as long as this number stays put, so a page deep
-- in the list skips at most a thousand index entries.
CREATE TABLE member_list_versions (
    org_id   TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version  BIGINT NOT NULL
);
INSERT INTO member_list_versions (org_id, version) SELECT id, 0 FROM organizations;

CREATE TRIGGER organizations_list_version AFTER INSERT ON organizations
BEGIN
    INSERT INTO member_list_versions (org_id, version) VALUES (NEW.id, 0);
END;
CREATE TRIGGER memberships_list_insert AFTER INSERT ON memberships
BEGIN
    UPDATE member_list_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER memberships_list_delete AFTER DELETE ON memberships
BEGIN
    UPDATE member_list_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER memberships_list_update AFTER UPDATE OF email, created_at ON memberships
WHEN OLD.email IS NOT NEW.email OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE member_list_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER invitations_list_insert AFTER INSERT ON invitations WHEN NEW.status = 'pending'
BEGIN
    UPDATE member_list_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER invitations_list_delete AFTER DELETE ON invitations WHEN OLD.status = 'pending'
BEGIN
    UPDATE member_list_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER invitations_list_update AFTER UPDATE OF status, email, created_at ON invitations
WHEN (OLD.status = 'pending') IS NOT (NEW.status = 'pending') OR OLD.email IS NOT NEW.email
    OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE member_list_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
