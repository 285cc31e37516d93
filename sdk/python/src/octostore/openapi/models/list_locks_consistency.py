from enum import StrEnum


class ListLocksConsistency(StrEnum):
    LINEARIZABLE = "linearizable"
    STALE = "stale"

    def __str__(self) -> str:
        return str(self.value)
