-- The trigram index of pending invitations' emails, built CONCURRENTLY (see the previous
-- migration).
CREATE INDEX CONCURRENTLY IF NOT EXISTS invitations_pending_search ON invitations
    USING gin (email gin_trgm_ops) WHERE status = 'pending';
