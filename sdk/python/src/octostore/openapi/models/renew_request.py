from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

T = TypeVar("T", bound="RenewRequest")


@_attrs_define
class RenewRequest:
    """
    Attributes:
        lease_id (UUID): Identifies one grant of a lock. Keep it to renew or release; it is shown only to the holder.
            Example: 6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70.
        ttl_seconds (int): Lease length in seconds, measured by the server's monotonic clock. Example: 60.
    """

    lease_id: UUID
    ttl_seconds: int

    def to_dict(self) -> dict[str, Any]:
        lease_id = str(self.lease_id)

        ttl_seconds = self.ttl_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "lease_id": lease_id,
                "ttl_seconds": ttl_seconds,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        lease_id = UUID(d.pop("lease_id"))

        ttl_seconds = d.pop("ttl_seconds")

        renew_request = cls(
            lease_id=lease_id,
            ttl_seconds=ttl_seconds,
        )

        return renew_request
