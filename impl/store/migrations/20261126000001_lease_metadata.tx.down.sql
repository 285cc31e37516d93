ALTER TABLE leases DROP COLUMN revision;
--bun:split
ALTER TABLE leases DROP COLUMN metadata;
