DROP TABLE leases;
DROP TABLE rate_limits;
