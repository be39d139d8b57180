-- How many members each organization has, by status and role, kept by triggers in the same
-- transaction as every change to memberships (including the cascades of a deleted account or
-- organization), so that the member list's total is a read of a few rows instead of a count
-- over 100,000 memberships on every page. Writers of one organization already take turns on
-- its `revision` row, so its counter rows add no new contention.
CREATE TABLE member_counts (
    org_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status  TEXT NOT NULL,
    role    TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (org_id, status, role)
);

INSERT INTO member_counts (org_id, status, role, n)
    SELECT org_id, status, role, COUNT(*) FROM memberships GROUP BY org_id, status, role;

CREATE FUNCTION member_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE member_counts SET n = n - 1
            WHERE org_id = OLD.org_id AND status = OLD.status AND role = OLD.role;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO member_counts (org_id, status, role, n) VALUES (NEW.org_id, NEW.status, NEW.role, 1)
            ON CONFLICT (org_id, status, role) DO UPDATE SET n = member_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER memberships_counted AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION member_counts_track();

CREATE TRIGGER memberships_recounted AFTER UPDATE OF org_id, status, role ON memberships
    FOR EACH ROW
    WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION member_counts_track();
