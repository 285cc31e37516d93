from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DashboardMethods")


@_attrs_define
class DashboardMethods:
    """
    Attributes:
        github (bool): GitHub sign-in is configured.
        token (bool): Signing in by pasting an account token is offered (always).
        admin (bool): The operator view is on (`ADMIN_KEY` is set).
    """

    github: bool
    token: bool
    admin: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        github = self.github

        token = self.token

        admin = self.admin

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "github": github,
                "token": token,
                "admin": admin,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        github = d.pop("github")

        token = d.pop("token")

        admin = d.pop("admin")

        dashboard_methods = cls(
            github=github,
            token=token,
            admin=admin,
        )

        dashboard_methods.additional_properties = d
        return dashboard_methods

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
