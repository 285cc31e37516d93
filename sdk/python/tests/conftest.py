from __future__ import annotations

from collections.abc import Iterator

import pytest
from harness import Server, Servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    s = Servers()
    yield s
    s.stop_all()


@pytest.fixture(scope="session")
def server(servers: Servers) -> Server:
    """The default server (no scenario settings)."""
    return servers.get(None)
