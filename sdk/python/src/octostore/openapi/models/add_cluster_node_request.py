from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="AddClusterNodeRequest")


@_attrs_define
class AddClusterNodeRequest:
    """
    Attributes:
        id (str): A cluster node's id (`CLUSTER_NODE_ID`).
        raft_addr (str): The node's raft address, `host:port` (`CLUSTER_RAFT_ADDR`).
    """

    id: str
    raft_addr: str

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        raft_addr = self.raft_addr

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "raft_addr": raft_addr,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        raft_addr = d.pop("raft_addr")

        add_cluster_node_request = cls(
            id=id,
            raft_addr=raft_addr,
        )

        return add_cluster_node_request
