from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.acquire_result_status import AcquireResultStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="AcquireResult")


@_attrs_define
class AcquireResult:
    """`status` tells the outcome. `acquired`: you hold the lock; `lease_id`,
    `fencing_token`, `expires_at` and `renew_after_ms` are set. `held`: someone else
    does; `holder_id`, `expires_at` (the current lease's end) and `retry_after_ms` are
    set (a semaphore's: of the holder with the lowest fencing token). While the lock
    is kept by a lock-delay, `held` has `holder_id` null; `available_at` and
    `expires_at` say when the delay ends.

        Attributes:
            status (AcquireResultStatus):
            expires_at (datetime.datetime): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
            lease_id (UUID | Unset): Identifies one grant of a lock. Keep it to renew or release; it is shown only to the
                holder. Example: 6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70.
            fencing_token (int | Unset): Strictly larger than every token issued before it, across releases, expiries and
                restarts. Example: 42.
            holder_id (None | str | Unset): Who holds the lock, as `HolderID`; `null` while only a lock-delay keeps the lock
                (nobody holds it, nobody may take it until `available_at`).
                 Example: tok_8f3a1c9d2e7b/worker-7.
            renew_after_ms (int | Unset): When to renew, in milliseconds from now (about a third of the TTL), so a renewal
                has time to retry before the lease ends. Example: 20000.
            retry_after_ms (int | Unset): When trying again is worthwhile, in milliseconds from now. Example: 1000.
            available_at (datetime.datetime | Unset): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
    """

    status: AcquireResultStatus
    expires_at: datetime.datetime
    lease_id: UUID | Unset = UNSET
    fencing_token: int | Unset = UNSET
    holder_id: None | str | Unset = UNSET
    renew_after_ms: int | Unset = UNSET
    retry_after_ms: int | Unset = UNSET
    available_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        expires_at = self.expires_at.isoformat()

        lease_id: str | Unset = UNSET
        if not isinstance(self.lease_id, Unset):
            lease_id = str(self.lease_id)

        fencing_token = self.fencing_token

        holder_id: None | str | Unset
        if isinstance(self.holder_id, Unset):
            holder_id = UNSET
        else:
            holder_id = self.holder_id

        renew_after_ms = self.renew_after_ms

        retry_after_ms = self.retry_after_ms

        available_at: str | Unset = UNSET
        if not isinstance(self.available_at, Unset):
            available_at = self.available_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "expires_at": expires_at,
            }
        )
        if lease_id is not UNSET:
            field_dict["lease_id"] = lease_id
        if fencing_token is not UNSET:
            field_dict["fencing_token"] = fencing_token
        if holder_id is not UNSET:
            field_dict["holder_id"] = holder_id
        if renew_after_ms is not UNSET:
            field_dict["renew_after_ms"] = renew_after_ms
        if retry_after_ms is not UNSET:
            field_dict["retry_after_ms"] = retry_after_ms
        if available_at is not UNSET:
            field_dict["available_at"] = available_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = AcquireResultStatus(d.pop("status"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        _lease_id = d.pop("lease_id", UNSET)
        lease_id: UUID | Unset
        if isinstance(_lease_id, Unset):
            lease_id = UNSET
        else:
            lease_id = UUID(_lease_id)

        fencing_token = d.pop("fencing_token", UNSET)

        def _parse_holder_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        holder_id = _parse_holder_id(d.pop("holder_id", UNSET))

        renew_after_ms = d.pop("renew_after_ms", UNSET)

        retry_after_ms = d.pop("retry_after_ms", UNSET)

        _available_at = d.pop("available_at", UNSET)
        available_at: datetime.datetime | Unset
        if isinstance(_available_at, Unset):
            available_at = UNSET
        else:
            available_at = datetime.datetime.fromisoformat(_available_at)

        acquire_result = cls(
            status=status,
            expires_at=expires_at,
            lease_id=lease_id,
            fencing_token=fencing_token,
            holder_id=holder_id,
            renew_after_ms=renew_after_ms,
            retry_after_ms=retry_after_ms,
            available_at=available_at,
        )

        acquire_result.additional_properties = d
        return acquire_result

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
