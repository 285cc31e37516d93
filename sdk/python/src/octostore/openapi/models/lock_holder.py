from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="LockHolder")


@_attrs_define
class LockHolder:
    """One current holder of a lock.

    Attributes:
        holder_id (str): Who holds the lock: the holding token's id, followed by `/owner` when the holder sent
            an `owner`. Contains no secret.
             Example: tok_8f3a1c9d2e7b/worker-7.
        fencing_token (int): Strictly larger than every token issued before it, across releases, expiries and restarts.
            Example: 42.
        expires_at (datetime.datetime): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
        metadata (str | Unset): A small value stored with the lease and shown to everyone in the account, such as a
            leader's address. At most 1024 characters (Unicode code points, as JSON Schema
            counts `maxLength`), so at most 4 KiB in UTF-8; longer values get 400
            `invalid_request` and change nothing.
             Example: 10.0.0.7:8080.
    """

    holder_id: str
    fencing_token: int
    expires_at: datetime.datetime
    metadata: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        holder_id = self.holder_id

        fencing_token = self.fencing_token

        expires_at = self.expires_at.isoformat()

        metadata = self.metadata

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "holder_id": holder_id,
                "fencing_token": fencing_token,
                "expires_at": expires_at,
            }
        )
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        holder_id = d.pop("holder_id")

        fencing_token = d.pop("fencing_token")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        metadata = d.pop("metadata", UNSET)

        lock_holder = cls(
            holder_id=holder_id,
            fencing_token=fencing_token,
            expires_at=expires_at,
            metadata=metadata,
        )

        lock_holder.additional_properties = d
        return lock_holder

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
