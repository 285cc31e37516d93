from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.renew_result_status import RenewResultStatus

T = TypeVar("T", bound="RenewResult")


@_attrs_define
class RenewResult:
    """
    Attributes:
        status (RenewResultStatus):
        lease_id (UUID): Identifies one grant of a lock. Keep it to renew or release; it is shown only to the holder.
            Example: 6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70.
        fencing_token (int): Strictly larger than every token issued before it, across releases, expiries and restarts.
            Example: 42.
        expires_at (datetime.datetime): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
        renew_after_ms (int): When to renew, in milliseconds from now (about a third of the TTL), so a renewal has time
            to retry before the lease ends. Example: 20000.
    """

    status: RenewResultStatus
    lease_id: UUID
    fencing_token: int
    expires_at: datetime.datetime
    renew_after_ms: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        lease_id = str(self.lease_id)

        fencing_token = self.fencing_token

        expires_at = self.expires_at.isoformat()

        renew_after_ms = self.renew_after_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "lease_id": lease_id,
                "fencing_token": fencing_token,
                "expires_at": expires_at,
                "renew_after_ms": renew_after_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = RenewResultStatus(d.pop("status"))

        lease_id = UUID(d.pop("lease_id"))

        fencing_token = d.pop("fencing_token")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        renew_after_ms = d.pop("renew_after_ms")

        renew_result = cls(
            status=status,
            lease_id=lease_id,
            fencing_token=fencing_token,
            expires_at=expires_at,
            renew_after_ms=renew_after_ms,
        )

        renew_result.additional_properties = d
        return renew_result

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
