from enum import StrEnum


class ClusterNodeSuffrage(StrEnum):
    CLUSTER_NODE_NONVOTER = "nonvoter"
    CLUSTER_NODE_VOTER = "voter"

    def __str__(self) -> str:
        return str(self.value)
