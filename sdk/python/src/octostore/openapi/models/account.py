from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Account")


@_attrs_define
class Account:
    """
    Attributes:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        name (str):  Example: ci.
        created_at (datetime.datetime): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
        active_locks (int):
        github_login (None | str): The GitHub login of the user whose sign-in created the account (as of their
            last sign-in), or null for an account made through the admin API. GitHub
            accounts are keyed by GitHub's numeric user id, never by their name: their
            name is `github-<id>`, or `github-<id>-<account_id>` when another account had
            that name first.
             Example: octocat.
    """

    account_id: str
    name: str
    created_at: datetime.datetime
    active_locks: int
    github_login: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        name = self.name

        created_at = self.created_at.isoformat()

        active_locks = self.active_locks

        github_login: None | str
        github_login = self.github_login

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "name": name,
                "created_at": created_at,
                "active_locks": active_locks,
                "github_login": github_login,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        name = d.pop("name")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        active_locks = d.pop("active_locks")

        def _parse_github_login(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        github_login = _parse_github_login(d.pop("github_login"))

        account = cls(
            account_id=account_id,
            name=name,
            created_at=created_at,
            active_locks=active_locks,
            github_login=github_login,
        )

        account.additional_properties = d
        return account

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
