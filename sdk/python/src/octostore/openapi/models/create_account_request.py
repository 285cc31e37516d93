from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateAccountRequest")


@_attrs_define
class CreateAccountRequest:
    """
    Attributes:
        name (str):  Example: ci.
        token_name (str | Unset): A label for a token, shown in the token list. Letters, digits, `.`, `_` and `-`.
            Example: billing-worker.
    """

    name: str
    token_name: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        token_name = self.token_name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if token_name is not UNSET:
            field_dict["token_name"] = token_name

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        token_name = d.pop("token_name", UNSET)

        create_account_request = cls(
            name=name,
            token_name=token_name,
        )

        return create_account_request
