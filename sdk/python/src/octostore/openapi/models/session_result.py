from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SessionResult")


@_attrs_define
class SessionResult:
    """
    Attributes:
        session_id (str): A session's id, random (128 bits), chosen by the server. Example:
            ses_4f9c2b7e1a0d48c6b3e5f7a9c1d2e3f4.
        ttl_seconds (int): Lease length in seconds, measured by the server's monotonic clock. Example: 60.
        expires_at (datetime.datetime): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
        renew_after_ms (int): When to renew, in milliseconds from now (about a third of the TTL), so a renewal has time
            to retry before the lease ends. Example: 20000.
    """

    session_id: str
    ttl_seconds: int
    expires_at: datetime.datetime
    renew_after_ms: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        ttl_seconds = self.ttl_seconds

        expires_at = self.expires_at.isoformat()

        renew_after_ms = self.renew_after_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "session_id": session_id,
                "ttl_seconds": ttl_seconds,
                "expires_at": expires_at,
                "renew_after_ms": renew_after_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        session_id = d.pop("session_id")

        ttl_seconds = d.pop("ttl_seconds")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        renew_after_ms = d.pop("renew_after_ms")

        session_result = cls(
            session_id=session_id,
            ttl_seconds=ttl_seconds,
            expires_at=expires_at,
            renew_after_ms=renew_after_ms,
        )

        session_result.additional_properties = d
        return session_result

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
