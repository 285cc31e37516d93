"""A worker for test_two_processes: N cycles of take the lock (or win the election), read
a shared counter file, sleep a little, write counter+1, give the lock back. It sets no
owner, as a user who knows nothing about owners would.

    python worker.py lock|election BASE_URL TOKEN COUNTER_FILE N

Both workers start their cycles together: each writes COUNTER_FILE.ready-<pid> and waits
(at most 20 s) for COUNTER_FILE.go.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import octostore


def bump(counter: Path) -> None:
    value = int(counter.read_text())
    time.sleep(0.02)  # widen the window a second holder would race in
    counter.write_text(str(value + 1))


def main() -> None:
    mode, url, token, counter_file, n = sys.argv[1:6]
    counter = Path(counter_file)
    # Only for showing that the test catches double holders: every worker the same owner.
    owner = os.environ.get("OCTOSTORE_WORKER_OWNER") or None
    ready = Path(f"{counter_file}.ready-{os.getpid()}")
    go = Path(f"{counter_file}.go")
    ready.write_text("")
    deadline = time.monotonic() + 20
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal within 20 s")
        time.sleep(0.01)
    with octostore.Client(url, token, owner=owner) as client:
        for i in range(int(n)):
            if mode == "lock":
                with client.lock("two-process-counter", ttl=10, wait=30):
                    bump(counter)
            else:
                election = client.election("two-process-election", ttl=10)
                election.campaign(f"{os.getpid()}:{i}", wait=30)
                try:
                    bump(counter)
                finally:
                    election.resign()


if __name__ == "__main__":
    main()
