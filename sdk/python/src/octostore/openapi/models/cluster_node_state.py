from enum import StrEnum


class ClusterNodeState(StrEnum):
    CLUSTER_NODE_CANDIDATE = "candidate"
    CLUSTER_NODE_FOLLOWER = "follower"
    CLUSTER_NODE_LEADER = "leader"
    CLUSTER_NODE_SHUTDOWN = "shutdown"
    CLUSTER_NODE_UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
