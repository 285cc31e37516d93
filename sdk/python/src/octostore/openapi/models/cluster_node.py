from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.cluster_node_state import ClusterNodeState
from ..models.cluster_node_suffrage import ClusterNodeSuffrage

T = TypeVar("T", bound="ClusterNode")


@_attrs_define
class ClusterNode:
    """
    Attributes:
        id (str):
        raft_addr (str):
        http_url (str): The client URL the node recorded when it last led; empty before.
        suffrage (ClusterNodeSuffrage):
        state (ClusterNodeState):
        last_index (int): The node's last raft log index; known for the node that answers only (0 for the others).
    """

    id: str
    raft_addr: str
    http_url: str
    suffrage: ClusterNodeSuffrage
    state: ClusterNodeState
    last_index: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        raft_addr = self.raft_addr

        http_url = self.http_url

        suffrage = self.suffrage.value

        state = self.state.value

        last_index = self.last_index

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "raft_addr": raft_addr,
                "http_url": http_url,
                "suffrage": suffrage,
                "state": state,
                "last_index": last_index,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        raft_addr = d.pop("raft_addr")

        http_url = d.pop("http_url")

        suffrage = ClusterNodeSuffrage(d.pop("suffrage"))

        state = ClusterNodeState(d.pop("state"))

        last_index = d.pop("last_index")

        cluster_node = cls(
            id=id,
            raft_addr=raft_addr,
            http_url=http_url,
            suffrage=suffrage,
            state=state,
            last_index=last_index,
        )

        cluster_node.additional_properties = d
        return cluster_node

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
