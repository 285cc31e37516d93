from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.lock_status_status import LockStatusStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.lock_holder import LockHolder


T = TypeVar("T", bound="LockStatus")


@_attrs_define
class LockStatus:
    """`free` locks carry only `name`, `status` and `revision`. A held lock's
    `holder_id`, `fencing_token`, `expires_at` and `metadata` are its holder's (a
    semaphore's: the holder with the lowest fencing token); `holders` lists every
    holder, and `max_holders` says how many it admits. A lock kept only by a
    lock-delay is `held` with `holder_id` null and with `available_at`.

        Attributes:
            name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which are
                path segments in a URL (clients and servers clean them out of the path). The
                pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
                 Example: my-service.
            status (LockStatusStatus):
            revision (int): Increases whenever the lock is granted, released or expires, or its metadata
                changes (renewals do not change it). Pass it as `index` to watch for the next change.
                 Example: 17.
            holder_id (None | str | Unset): Who holds the lock, as `HolderID`; `null` while only a lock-delay keeps the lock
                (nobody holds it, nobody may take it until `available_at`).
                 Example: tok_8f3a1c9d2e7b/worker-7.
            fencing_token (int | Unset): Strictly larger than every token issued before it, across releases, expiries and
                restarts. Example: 42.
            expires_at (datetime.datetime | Unset): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
            metadata (str | Unset): A small value stored with the lease and shown to everyone in the account, such as a
                leader's address. At most 1024 characters (Unicode code points, as JSON Schema
                counts `maxLength`), so at most 4 KiB in UTF-8; longer values get 400
                `invalid_request` and change nothing.
                 Example: 10.0.0.7:8080.
            max_holders (int | Unset): How many distinct holders the lock admits at once (a semaphore); each gets its own
                lease and fencing token. Every holder and waiter of a lock must send the same value
                (409 `max_holders_mismatch` otherwise). Default 1, a plain lock.
                 Example: 3.
            holders (list[LockHolder] | Unset): Every current holder, by fencing token.
            available_at (datetime.datetime | Unset): RFC 3339, UTC, millisecond precision. Example: 2026-02-12T01:00:00Z.
    """

    name: str
    status: LockStatusStatus
    revision: int
    holder_id: None | str | Unset = UNSET
    fencing_token: int | Unset = UNSET
    expires_at: datetime.datetime | Unset = UNSET
    metadata: str | Unset = UNSET
    max_holders: int | Unset = UNSET
    holders: list[LockHolder] | Unset = UNSET
    available_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        status = self.status.value

        revision = self.revision

        holder_id: None | str | Unset
        if isinstance(self.holder_id, Unset):
            holder_id = UNSET
        else:
            holder_id = self.holder_id

        fencing_token = self.fencing_token

        expires_at: str | Unset = UNSET
        if not isinstance(self.expires_at, Unset):
            expires_at = self.expires_at.isoformat()

        metadata = self.metadata

        max_holders = self.max_holders

        holders: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.holders, Unset):
            holders = []
            for holders_item_data in self.holders:
                holders_item = holders_item_data.to_dict()
                holders.append(holders_item)

        available_at: str | Unset = UNSET
        if not isinstance(self.available_at, Unset):
            available_at = self.available_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "status": status,
                "revision": revision,
            }
        )
        if holder_id is not UNSET:
            field_dict["holder_id"] = holder_id
        if fencing_token is not UNSET:
            field_dict["fencing_token"] = fencing_token
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if max_holders is not UNSET:
            field_dict["max_holders"] = max_holders
        if holders is not UNSET:
            field_dict["holders"] = holders
        if available_at is not UNSET:
            field_dict["available_at"] = available_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.lock_holder import LockHolder

        d = dict(src_dict)
        name = d.pop("name")

        status = LockStatusStatus(d.pop("status"))

        revision = d.pop("revision")

        def _parse_holder_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        holder_id = _parse_holder_id(d.pop("holder_id", UNSET))

        fencing_token = d.pop("fencing_token", UNSET)

        _expires_at = d.pop("expires_at", UNSET)
        expires_at: datetime.datetime | Unset
        if isinstance(_expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = datetime.datetime.fromisoformat(_expires_at)

        metadata = d.pop("metadata", UNSET)

        max_holders = d.pop("max_holders", UNSET)

        _holders = d.pop("holders", UNSET)
        holders: list[LockHolder] | Unset = UNSET
        if _holders is not UNSET:
            holders = []
            for holders_item_data in _holders:
                holders_item = LockHolder.from_dict(holders_item_data)

                holders.append(holders_item)

        _available_at = d.pop("available_at", UNSET)
        available_at: datetime.datetime | Unset
        if isinstance(_available_at, Unset):
            available_at = UNSET
        else:
            available_at = datetime.datetime.fromisoformat(_available_at)

        lock_status = cls(
            name=name,
            status=status,
            revision=revision,
            holder_id=holder_id,
            fencing_token=fencing_token,
            expires_at=expires_at,
            metadata=metadata,
            max_holders=max_holders,
            holders=holders,
            available_at=available_at,
        )

        lock_status.additional_properties = d
        return lock_status

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
