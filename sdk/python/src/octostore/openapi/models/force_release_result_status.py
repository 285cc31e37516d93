from enum import StrEnum


class ForceReleaseResultStatus(StrEnum):
    RELEASED = "released"

    def __str__(self) -> str:
        return str(self.value)
