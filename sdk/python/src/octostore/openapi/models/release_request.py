from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

T = TypeVar("T", bound="ReleaseRequest")


@_attrs_define
class ReleaseRequest:
    """
    Attributes:
        lease_id (UUID): Identifies one grant of a lock. Keep it to renew or release; it is shown only to the holder.
            Example: 6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70.
    """

    lease_id: UUID

    def to_dict(self) -> dict[str, Any]:
        lease_id = str(self.lease_id)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "lease_id": lease_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        lease_id = UUID(d.pop("lease_id"))

        release_request = cls(
            lease_id=lease_id,
        )

        return release_request
