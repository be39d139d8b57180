DROP TRIGGER memberships_counted_update;
DROP TRIGGER memberships_counted_delete;
DROP TRIGGER memberships_counted_insert;
DROP TABLE member_counts;
