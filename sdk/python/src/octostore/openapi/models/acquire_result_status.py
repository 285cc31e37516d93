from enum import StrEnum


class AcquireResultStatus(StrEnum):
    ACQUIRED = "acquired"
    HELD = "held"

    def __str__(self) -> str:
        return str(self.value)
