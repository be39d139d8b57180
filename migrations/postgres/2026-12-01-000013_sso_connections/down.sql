DROP TABLE sso_flows;
DROP TABLE sso_links;
DROP TABLE sso_domains;
DROP TABLE sso_connections;
