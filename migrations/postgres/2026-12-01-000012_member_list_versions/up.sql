-- A number that moves whenever the member list's rows or their email order change (a member
-- joins or leaves, an email changes, an invitation is made or stops being pending), bumped by
-- triggers in the same transaction. A server keeps where each thousandth row of the list
-- stands (storage::member_list::Anchors) for as long as this number stays put, so a page deep
-- in the list skips at most a thousand index entries. Writers of one organization already
-- take turns on its `revision` row, so this row adds no new contention.
CREATE TABLE member_list_versions (
    org_id   TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    version  BIGINT NOT NULL
);
INSERT INTO member_list_versions (org_id, version) SELECT id, 0 FROM organizations;

CREATE FUNCTION member_list_version_new_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_list_versions (org_id, version) VALUES (NEW.id, 0);
    RETURN NULL;
END
$$;
CREATE TRIGGER organizations_list_version AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION member_list_version_new_org();

CREATE FUNCTION member_list_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE member_list_versions SET version = version + 1 WHERE org_id = OLD.org_id;
    ELSE
        UPDATE member_list_versions SET version = version + 1 WHERE org_id = NEW.org_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memberships_list_changed AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION member_list_version_bump();
CREATE TRIGGER memberships_list_reordered AFTER UPDATE OF email, created_at ON memberships
    FOR EACH ROW
    WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION member_list_version_bump();
CREATE TRIGGER invitations_list_changed AFTER INSERT OR DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION member_list_version_bump();
CREATE TRIGGER invitations_list_reordered AFTER UPDATE OF status, email, created_at ON invitations
    FOR EACH ROW
    WHEN ((OLD.status = 'pending') IS DISTINCT FROM (NEW.status = 'pending')
          OR OLD.email IS DISTINCT FROM NEW.email OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION member_list_version_bump();
