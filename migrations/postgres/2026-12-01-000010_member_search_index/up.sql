-- The trigram index of members' emails and names. Built CONCURRENTLY, so writes go on while it
-- is built; that cannot run in a transaction, hence this migration's metadata.toml and its
-- single statement.
CREATE INDEX CONCURRENTLY IF NOT EXISTS memberships_search ON memberships
    USING gin (email gin_trgm_ops, name_key gin_trgm_ops);
