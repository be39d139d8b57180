-- Member search through a trigram index. A member is found by a substring of their email or
-- name in any case: `name_key` is the name in lower case, folded by the application (Unicode's
-- rules, which SQLite's lower() does not know: it folds ASCII only) and written with every
-- name; emails are stored in lower case already. Names of printable ASCII are folded here; the
-- others are folded by the application at start, before it serves (storage::members::fill_name_keys).
ALTER TABLE memberships ADD COLUMN name_key TEXT;
UPDATE memberships SET name_key = lower(name) WHERE name NOT GLOB '*[^ -~]*';
-- the rows still to fold, found at once (empty once they are)
CREATE INDEX memberships_name_key_missing ON memberships (org_id) WHERE name_key IS NULL;

-- The index: an FTS5 table of trigrams (3 characters in a row, case kept: both sides are in
-- lower case already), holding no copy of the text. Its rows are numbered by organization:
-- each organization owns the range [search_base, search_base + 2^32), so a search of one
-- organization is a rowid range of the index and its total is counted in the index alone.
-- Numbers are stored, never derived from a rowid (which a VACUUM may change).
ALTER TABLE organizations ADD COLUMN search_base BIGINT;
UPDATE organizations SET search_base = rowid * 4294967296;
CREATE UNIQUE INDEX organizations_search_base ON organizations (search_base);
CREATE TRIGGER organizations_search_base AFTER INSERT ON organizations
BEGIN
    UPDATE organizations
        SET search_base = (SELECT COALESCE(MAX(search_base), 0) + 4294967296 FROM organizations)
        WHERE id = NEW.id;
END;

ALTER TABLE memberships ADD COLUMN search_id BIGINT;
UPDATE memberships SET search_id = (SELECT search_base FROM organizations WHERE organizations.id = memberships.org_id) + rowid;
CREATE UNIQUE INDEX memberships_search_id ON memberships (search_id);

CREATE VIRTUAL TABLE member_search USING fts5 (
    email, name, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);
INSERT INTO member_search (rowid, email, name) SELECT search_id, email, name_key FROM memberships;

-- kept in step in the transaction of every change: a new member takes the next number of its
-- organization's range; a changed email or name is indexed again; a removed member leaves
CREATE TRIGGER memberships_search_insert AFTER INSERT ON memberships
BEGIN
    UPDATE memberships SET search_id = (
        SELECT COALESCE(
            (SELECT MAX(m.search_id) FROM memberships AS m
                WHERE m.search_id >= o.search_base AND m.search_id < o.search_base + 4294967296),
            o.search_base) + 1
        FROM organizations AS o WHERE o.id = NEW.org_id)
    WHERE org_id = NEW.org_id AND account_id = NEW.account_id;
    INSERT INTO member_search (rowid, email, name)
        SELECT search_id, email, name_key FROM memberships
        WHERE org_id = NEW.org_id AND account_id = NEW.account_id;
END;

CREATE TRIGGER memberships_search_update AFTER UPDATE OF email, name_key ON memberships
BEGIN
    DELETE FROM member_search WHERE rowid = OLD.search_id;
    INSERT INTO member_search (rowid, email, name) VALUES (NEW.search_id, NEW.email, NEW.name_key);
END;

CREATE TRIGGER memberships_search_delete AFTER DELETE ON memberships
BEGIN
    DELETE FROM member_search WHERE rowid = OLD.search_id;
END;
