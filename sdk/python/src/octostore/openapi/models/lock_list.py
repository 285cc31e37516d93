from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.lock_status import LockStatus


T = TypeVar("T", bound="LockList")


@_attrs_define
class LockList:
    """
    Attributes:
        locks (list[LockStatus]):
        next_cursor (str | Unset): Pass it as `cursor` to get the next page. Absent on the last page: a client that
            ignores it sees the first page only.
             Example: eyJrIjoibG9ja3MiLCJhIjoibXktc2VydmljZSJ9.
        index (int | Unset): With `prefix`, the index to watch the prefix from (or, for a watch, to come back with).
        changes (list[LockStatus] | Unset): A prefix watch's changes, by name.
        complete (bool | Unset): For a prefix watch: false when the server no longer remembers every lock freed
            since the `index` sent; `changes` then holds every held lock under the prefix.
    """

    locks: list[LockStatus]
    next_cursor: str | Unset = UNSET
    index: int | Unset = UNSET
    changes: list[LockStatus] | Unset = UNSET
    complete: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        locks = []
        for locks_item_data in self.locks:
            locks_item = locks_item_data.to_dict()
            locks.append(locks_item)

        next_cursor = self.next_cursor

        index = self.index

        changes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.changes, Unset):
            changes = []
            for changes_item_data in self.changes:
                changes_item = changes_item_data.to_dict()
                changes.append(changes_item)

        complete = self.complete

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "locks": locks,
            }
        )
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor
        if index is not UNSET:
            field_dict["index"] = index
        if changes is not UNSET:
            field_dict["changes"] = changes
        if complete is not UNSET:
            field_dict["complete"] = complete

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.lock_status import LockStatus

        d = dict(src_dict)
        locks = []
        _locks = d.pop("locks")
        for locks_item_data in _locks:
            locks_item = LockStatus.from_dict(locks_item_data)

            locks.append(locks_item)

        next_cursor = d.pop("next_cursor", UNSET)

        index = d.pop("index", UNSET)

        _changes = d.pop("changes", UNSET)
        changes: list[LockStatus] | Unset = UNSET
        if _changes is not UNSET:
            changes = []
            for changes_item_data in _changes:
                changes_item = LockStatus.from_dict(changes_item_data)

                changes.append(changes_item)

        complete = d.pop("complete", UNSET)

        lock_list = cls(
            locks=locks,
            next_cursor=next_cursor,
            index=index,
            changes=changes,
            complete=complete,
        )

        lock_list.additional_properties = d
        return lock_list

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
