from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AcquireRequest")


@_attrs_define
class AcquireRequest:
    """
    Attributes:
        ttl_seconds (int): Lease length in seconds, measured by the server's monotonic clock. Example: 60.
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
    """

    ttl_seconds: int
    owner: str | Unset = UNSET
    wait_seconds: int | Unset = UNSET
    metadata: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        ttl_seconds = self.ttl_seconds

        owner = self.owner

        wait_seconds = self.wait_seconds

        metadata = self.metadata

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "ttl_seconds": ttl_seconds,
            }
        )
        if owner is not UNSET:
            field_dict["owner"] = owner
        if wait_seconds is not UNSET:
            field_dict["wait_seconds"] = wait_seconds
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ttl_seconds = d.pop("ttl_seconds")

        owner = d.pop("owner", UNSET)

        wait_seconds = d.pop("wait_seconds", UNSET)

        metadata = d.pop("metadata", UNSET)

        acquire_request = cls(
            ttl_seconds=ttl_seconds,
            owner=owner,
            wait_seconds=wait_seconds,
            metadata=metadata,
        )

        return acquire_request
