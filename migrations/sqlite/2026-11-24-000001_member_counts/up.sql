-- How many members each organization has, by status and role, kept by triggers in the same
-- transaction as every change to memberships (including the cascades of a deleted account or
-- organization), so that the member list's total is a read of a few rows instead of a count
-- over 100,000 memberships on every page.
CREATE TABLE member_counts (
    org_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status  TEXT NOT NULL,
    role    TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (org_id, status, role)
);

INSERT INTO member_counts (org_id, status, role, n)
    SELECT org_id, status, role, COUNT(*) FROM memberships GROUP BY org_id, status, role;

CREATE TRIGGER memberships_counted_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO member_counts (org_id, status, role, n) VALUES (NEW.org_id, NEW.status, NEW.role, 1)
        ON CONFLICT (org_id, status, role) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER memberships_counted_delete AFTER DELETE ON memberships
BEGIN
    UPDATE member_counts SET n = n - 1
        WHERE org_id = OLD.org_id AND status = OLD.status AND role = OLD.role;
END;

CREATE TRIGGER memberships_counted_update AFTER UPDATE OF org_id, status, role ON memberships
WHEN OLD.org_id IS NOT NEW.org_id OR OLD.status IS NOT NEW.status OR OLD.role IS NOT NEW.role
BEGIN
    UPDATE member_counts SET n = n - 1
        WHERE org_id = OLD.org_id AND status = OLD.status AND role = OLD.role;
    INSERT INTO member_counts (org_id, status, role, n) VALUES (NEW.org_id, NEW.status, NEW.role, 1)
        ON CONFLICT (org_id, status, role) DO UPDATE SET n = n + 1;
END;
