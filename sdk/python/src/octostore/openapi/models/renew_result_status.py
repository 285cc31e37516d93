from enum import StrEnum


class RenewResultStatus(StrEnum):
    RENEWED = "renewed"

    def __str__(self) -> str:
        return str(self.value)
