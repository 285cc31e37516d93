from enum import StrEnum


class LockStatusStatus(StrEnum):
    FREE = "free"
    HELD = "held"

    def __str__(self) -> str:
        return str(self.value)
