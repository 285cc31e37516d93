from enum import StrEnum


class ReleaseResultStatus(StrEnum):
    RELEASED = "released"

    def __str__(self) -> str:
        return str(self.value)
