DROP TABLE sessions;
--bun:split
DROP TABLE github_users;
