from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dashboard_session_method import DashboardSessionMethod
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.issued_token import IssuedToken


T = TypeVar("T", bound="DashboardSession")


@_attrs_define
class DashboardSession:
    """
    Attributes:
        login (str): The GitHub login as of this sign-in.
        github_user_id (int): GitHub's numeric user id, which the account is keyed by.
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        token_id (str):  Example: tok_8f3a1c9d2e7b.
        avatar_url (str): Same-origin URL of the user's avatar.
        csrf_token (str): Send as `X-CSRF-Token` with dashboard requests that change something.
        expires_at (datetime.datetime): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
        new_token (IssuedToken | Unset):
        method (DashboardSessionMethod | Unset): How this session signed in. A token session has an empty `login` and
            `avatar_url`
            and `github_user_id` 0; its `token_id` is the pasted token's.
    """

    login: str
    github_user_id: int
    account_id: str
    token_id: str
    avatar_url: str
    csrf_token: str
    expires_at: datetime.datetime
    new_token: IssuedToken | Unset = UNSET
    method: DashboardSessionMethod | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        login = self.login

        github_user_id = self.github_user_id

        account_id = self.account_id

        token_id = self.token_id

        avatar_url = self.avatar_url

        csrf_token = self.csrf_token

        expires_at = self.expires_at.isoformat()

        new_token: dict[str, Any] | Unset = UNSET
        if not isinstance(self.new_token, Unset):
            new_token = self.new_token.to_dict()

        method: str | Unset = UNSET
        if not isinstance(self.method, Unset):
            method = self.method.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "login": login,
                "github_user_id": github_user_id,
                "account_id": account_id,
                "token_id": token_id,
                "avatar_url": avatar_url,
                "csrf_token": csrf_token,
                "expires_at": expires_at,
            }
        )
        if new_token is not UNSET:
            field_dict["new_token"] = new_token
        if method is not UNSET:
            field_dict["method"] = method

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.issued_token import IssuedToken

        d = dict(src_dict)
        login = d.pop("login")

        github_user_id = d.pop("github_user_id")

        account_id = d.pop("account_id")

        token_id = d.pop("token_id")

        avatar_url = d.pop("avatar_url")

        csrf_token = d.pop("csrf_token")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        _new_token = d.pop("new_token", UNSET)
        new_token: IssuedToken | Unset
        if isinstance(_new_token, Unset):
            new_token = UNSET
        else:
            new_token = IssuedToken.from_dict(_new_token)

        _method = d.pop("method", UNSET)
        method: DashboardSessionMethod | Unset
        if isinstance(_method, Unset):
            method = UNSET
        else:
            method = DashboardSessionMethod(_method)

        dashboard_session = cls(
            login=login,
            github_user_id=github_user_id,
            account_id=account_id,
            token_id=token_id,
            avatar_url=avatar_url,
            csrf_token=csrf_token,
            expires_at=expires_at,
            new_token=new_token,
            method=method,
        )

        dashboard_session.additional_properties = d
        return dashboard_session

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
