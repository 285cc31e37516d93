from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="AdminSignIn")


@_attrs_define
class AdminSignIn:
    """
    Attributes:
        admin_key (str): The server's `ADMIN_KEY`.
    """

    admin_key: str

    def to_dict(self) -> dict[str, Any]:
        admin_key = self.admin_key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "admin_key": admin_key,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        admin_key = d.pop("admin_key")

        admin_sign_in = cls(
            admin_key=admin_key,
        )

        return admin_sign_in
