from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AcquireRequest")


@_attrs_define
class AcquireRequest:
    """`ttl_seconds` is required unless `session_id` is given (400 `invalid_ttl`
    otherwise); with `session_id` the session's TTL rules and `ttl_seconds`, if sent,
    is ignored.

        Attributes:
            ttl_seconds (int | Unset): Lease length in seconds, measured by the server's monotonic clock. Example: 60.
            owner (str | Unset): Holder name for processes that share one token (a host name, a pod name plus a
                random suffix). The same token with the same owner is the same holder: re-acquiring
                returns the same lease. Without an owner an acquire is a holder of its own and never
                re-acquires. Printable ASCII without spaces.
                 Example: worker-7.
            wait_seconds (int | Unset): How long the server may hold the request open waiting (0 = answer at once). Example:
                30.
            metadata (str | Unset): A small value stored with the lease and shown to everyone in the account, such as a
                leader's address. At most 1024 characters (Unicode code points, as JSON Schema
                counts `maxLength`), so at most 4 KiB in UTF-8; longer values get 400
                `invalid_request` and change nothing.
                 Example: 10.0.0.7:8080.
            session_id (str | Unset): A session's id, random (128 bits), chosen by the server. Example:
                ses_4f9c2b7e1a0d48c6b3e5f7a9c1d2e3f4.
            lock_delay_seconds (int | Unset): Lock-delay (Chubby's): when this lease **expires**, or its session expires or
                dies,
                nobody is granted its place in the lock for this long, so a holder that lost the
                lease without noticing (a paused process, a partition) has time to stop before
                anyone else starts. A release, a deleted session or an operator's force-release
                never starts it. 0 (the default) means none.
                 Example: 10.
            max_holders (int | Unset): How many distinct holders the lock admits at once (a semaphore); each gets its own
                lease and fencing token. Every holder and waiter of a lock must send the same value
                (409 `max_holders_mismatch` otherwise). Default 1, a plain lock.
                 Example: 3.
    """

    ttl_seconds: int | Unset = UNSET
    owner: str | Unset = UNSET
    wait_seconds: int | Unset = UNSET
    metadata: str | Unset = UNSET
    session_id: str | Unset = UNSET
    lock_delay_seconds: int | Unset = UNSET
    max_holders: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        ttl_seconds = self.ttl_seconds

        owner = self.owner

        wait_seconds = self.wait_seconds

        metadata = self.metadata

        session_id = self.session_id

        lock_delay_seconds = self.lock_delay_seconds

        max_holders = self.max_holders

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if ttl_seconds is not UNSET:
            field_dict["ttl_seconds"] = ttl_seconds
        if owner is not UNSET:
            field_dict["owner"] = owner
        if wait_seconds is not UNSET:
            field_dict["wait_seconds"] = wait_seconds
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if lock_delay_seconds is not UNSET:
            field_dict["lock_delay_seconds"] = lock_delay_seconds
        if max_holders is not UNSET:
            field_dict["max_holders"] = max_holders

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ttl_seconds = d.pop("ttl_seconds", UNSET)

        owner = d.pop("owner", UNSET)

        wait_seconds = d.pop("wait_seconds", UNSET)

        metadata = d.pop("metadata", UNSET)

        session_id = d.pop("session_id", UNSET)

        lock_delay_seconds = d.pop("lock_delay_seconds", UNSET)

        max_holders = d.pop("max_holders", UNSET)

        acquire_request = cls(
            ttl_seconds=ttl_seconds,
            owner=owner,
            wait_seconds=wait_seconds,
            metadata=metadata,
            session_id=session_id,
            lock_delay_seconds=lock_delay_seconds,
            max_holders=max_holders,
        )

        return acquire_request
