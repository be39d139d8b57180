DROP TABLE audit_events;
DROP TABLE api_key_deployments;
DROP TABLE api_keys;
DROP TABLE deployments;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE organizations;
DROP TABLE accounts;
