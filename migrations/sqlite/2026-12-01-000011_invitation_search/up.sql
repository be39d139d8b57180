-- Pending invitations in the trigram index too (they are found by email), numbered in their
-- organization's range as members are (see member_search); an invitation leaves the index
-- when it stops being pending.
ALTER TABLE invitations ADD COLUMN search_id BIGINT;
UPDATE invitations SET search_id = (SELECT search_base FROM organizations WHERE organizations.id = invitations.org_id) + rowid
    WHERE status = 'pending';
CREATE UNIQUE INDEX invitations_search_id ON invitations (search_id);

CREATE VIRTUAL TABLE invitation_search USING fts5 (
    email, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);
INSERT INTO invitation_search (rowid, email) SELECT search_id, email FROM invitations WHERE status = 'pending';

CREATE TRIGGER invitations_search_insert AFTER INSERT ON invitations WHEN NEW.status = 'pending'
BEGIN
    UPDATE invitations SET search_id = (
        SELECT COALESCE(
            (SELECT MAX(i.search_id) FROM invitations AS i
                WHERE i.search_id >= o.search_base AND i.search_id < o.search_base + 4294967296),
            o.search_base) + 1
        FROM organizations AS o WHERE o.id = NEW.org_id)
    WHERE id = NEW.id;
    INSERT INTO invitation_search (rowid, email) SELECT search_id, email FROM invitations WHERE id = NEW.id;
END;

CREATE TRIGGER invitations_search_update AFTER UPDATE OF status, email ON invitations
BEGIN
    DELETE FROM invitation_search WHERE rowid = OLD.search_id;
    INSERT INTO invitation_search (rowid, email)
        SELECT NEW.search_id, NEW.email WHERE NEW.status = 'pending' AND NEW.search_id IS NOT NULL;
END;

CREATE TRIGGER invitations_search_delete AFTER DELETE ON invitations
BEGIN
    DELETE FROM invitation_search WHERE rowid = OLD.search_id;
END;
