from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.cluster_node import ClusterNode


T = TypeVar("T", bound="ClusterInfo")


@_attrs_define
class ClusterInfo:
    """
    Attributes:
        leader (str): The leader's id; empty when none is known.
        term (int): The raft term this node is in.
        nodes (list[ClusterNode]):
    """

    leader: str
    term: int
    nodes: list[ClusterNode]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        leader = self.leader

        term = self.term

        nodes = []
        for nodes_item_data in self.nodes:
            nodes_item = nodes_item_data.to_dict()
            nodes.append(nodes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "leader": leader,
                "term": term,
                "nodes": nodes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.cluster_node import ClusterNode

        d = dict(src_dict)
        leader = d.pop("leader")

        term = d.pop("term")

        nodes = []
        _nodes = d.pop("nodes")
        for nodes_item_data in _nodes:
            nodes_item = ClusterNode.from_dict(nodes_item_data)

            nodes.append(nodes_item)

        cluster_info = cls(
            leader=leader,
            term=term,
            nodes=nodes,
        )

        cluster_info.additional_properties = d
        return cluster_info

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
