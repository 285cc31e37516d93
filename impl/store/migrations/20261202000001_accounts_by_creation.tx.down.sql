DROP INDEX IF EXISTS accounts_by_creation;
