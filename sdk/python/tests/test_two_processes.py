"""Two processes of one worker program share ONE token and set no owner: the helpers'
default owners make them two holders, so the lock (and the election) excludes them from
each other and a read-sleep-write counter ends at exactly 2N."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import Server

N = 30
WORKER = Path(__file__).with_name("worker.py")
SRC = Path(__file__).resolve().parents[1] / "src"


def run_two(server: Server, mode: str, tmp_path: Path) -> int:
    token = server.create_account("twoproc").token
    counter = tmp_path / f"counter-{mode}"
    counter.write_text("0")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), mode, server.url, token, str(counter), str(N)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 30
    try:
        # Start both workers' cycles together, once both are up.
        while len(list(tmp_path.glob(f"{counter.name}.ready-*"))) < 2:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.01)
        (tmp_path / f"{counter.name}.go").write_text("")
        for p in procs:
            out, _ = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            assert p.returncode == 0, f"worker {p.pid} exited {p.returncode}:\n{out.decode(errors='replace')}"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    return int(counter.read_text())


@pytest.mark.parametrize("mode", ["lock", "election"])
def test_two_processes_sharing_a_token_exclude_each_other(server: Server, mode: str, tmp_path: Path) -> None:
    assert run_two(server, mode, tmp_path) == 2 * N
