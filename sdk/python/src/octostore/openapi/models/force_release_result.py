from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ForceReleaseResult")


@_attrs_define
class ForceReleaseResult:
    """
    Attributes:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        fencing_tokens (list[int]): The fencing tokens of the leases that ended, in token order.
    """

    name: str
    fencing_tokens: list[int]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        fencing_tokens = self.fencing_tokens

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "fencing_tokens": fencing_tokens,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        fencing_tokens = cast(list[int], d.pop("fencing_tokens"))

        force_release_result = cls(
            name=name,
            fencing_tokens=fencing_tokens,
        )

        force_release_result.additional_properties = d
        return force_release_result

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
