DROP TABLE meta;
--bun:split
DROP TABLE leases;
--bun:split
DROP TABLE tokens;
--bun:split
DROP TABLE accounts;
