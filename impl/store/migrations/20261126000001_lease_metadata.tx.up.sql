-- A lease's metadata (a small public value such as a leader's address) and the lock's
-- revision as watchers see it. Rows written before this migration get '' and 0; the
-- engine gives such a lease the restored revision floor.
ALTER TABLE leases ADD COLUMN metadata TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE leases ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
