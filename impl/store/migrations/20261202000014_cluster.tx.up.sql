-- The client URL of each cluster node that has led the cluster (raft only; a single
-- node never writes here). meta also gains raft_applied (the last raft log index
-- materialised in this file) and raft_epoch (the log index of the current leader's start).
CREATE TABLE cluster_nodes (
    id       TEXT NOT NULL PRIMARY KEY,
    http_url TEXT NOT NULL
);
