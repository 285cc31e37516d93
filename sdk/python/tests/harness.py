"""Starts a live octostore-lock the way sdk/conformance/README.md prescribes, and creates
accounts and tokens through the admin API (with the generated client)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from octostore.openapi.api.admin import create_account, create_token
from octostore.openapi.client import Client as OpenClient
from octostore.openapi.models.create_account_request import CreateAccountRequest
from octostore.openapi.models.created_account import CreatedAccount
from octostore.openapi.models.issued_token import IssuedToken

LISTENING = re.compile(r"msg=listening addr=(\S+)")


class Server:
    """One octostore-lock process on 127.0.0.1 with a fresh database in a temp dir."""

    def __init__(self, env: dict[str, str] | None = None, ca_file: str | None = None) -> None:
        binary = os.environ.get("OCTOSTORE_BIN", "")
        if not binary or not os.access(binary, os.X_OK):
            raise RuntimeError("set OCTOSTORE_BIN to an octostore-lock binary (make build: bin/octostore-lock)")
        self.dir = Path(tempfile.mkdtemp(prefix="octostore-conformance-"))
        (self.dir / "empty.env").write_text("")
        self.admin_key = secrets.token_hex(16)
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ADMIN_KEY": self.admin_key,
            "DATABASE_URL": str(self.dir / "octostore.db"),
            "ENV_FILE": str(self.dir / "empty.env"),
            "LOG_LEVEL": "info",
            "LOG_FORMAT": "text",
            **(env or {}),
        }
        self._out = open(self.dir / "stdout.log", "wb")
        self._err = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            [binary, "--bind-addr", "127.0.0.1:0"],
            cwd=self.dir,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
        )
        scheme = "https://" if "TLS_CERT_FILE" in full_env else "http://"
        self.url = scheme + self._wait_listening()
        verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._admin = OpenClient(
            base_url=self.url, headers={"X-Admin-Key": self.admin_key}, timeout=None, verify_ssl=verify
        )

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = LISTENING.search((self.dir / "stdout.log").read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        logs = self.logs()
        self.stop()
        raise RuntimeError(f"octostore-lock did not start:\n{logs}")

    def logs(self) -> str:
        out = (self.dir / "stdout.log").read_text(errors="replace")
        err = (self.dir / "stderr.log").read_text(errors="replace")
        return f"--- stdout\n{out}--- stderr\n{err}"

    def create_account(self, label: str) -> CreatedAccount:
        """A fresh account named `<label>-<12 random hex>` and its first token."""
        name = f"{label}-{secrets.token_hex(6)}"
        res = create_account.sync_detailed(client=self._admin, body=CreateAccountRequest(name=name))
        if not isinstance(res.parsed, CreatedAccount):
            raise RuntimeError(f"create account: HTTP {res.status_code} {res.content!r}")
        return res.parsed

    def create_token(self, account_id: str) -> IssuedToken:
        """Another token (another holder) in the account."""
        res = create_token.sync_detailed(account_id, client=self._admin)
        if not isinstance(res.parsed, IssuedToken):
            raise RuntimeError(f"create token: HTTP {res.status_code} {res.content!r}")
        return res.parsed

    def stop(self) -> None:
        """SIGCONT, SIGTERM, then SIGKILL after 10 s; removes the temp dir."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a scenario left it paused
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()
        self._err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Servers:
    """One server per distinct set of scenario settings, started on first use."""

    def __init__(self) -> None:
        self._by_env: dict[tuple[tuple[str, str], ...], Server] = {}

    def get(self, env: dict[str, str] | None) -> Server:
        key = tuple(sorted((env or {}).items()))
        if key not in self._by_env:
            self._by_env[key] = Server(dict(key))
        return self._by_env[key]

    def stop_all(self) -> None:
        for s in self._by_env.values():
            s.stop()
        self._by_env.clear()
