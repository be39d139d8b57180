DROP TRIGGER memberships_recounted ON memberships;
DROP TRIGGER memberships_counted ON memberships;
DROP FUNCTION member_counts_track();
DROP TABLE member_counts;
