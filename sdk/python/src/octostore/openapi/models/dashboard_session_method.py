from enum import StrEnum


class DashboardSessionMethod(StrEnum):
    GITHUB = "github"
    TOKEN = "token"

    def __str__(self) -> str:
        return str(self.value)
