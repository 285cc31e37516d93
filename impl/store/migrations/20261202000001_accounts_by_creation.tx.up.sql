-- GET /admin/accounts pages by (created_ms, id): keyset pagination reads one index range
-- per page instead of sorting the table.
CREATE INDEX IF NOT EXISTS accounts_by_creation ON accounts (created_ms, id);
