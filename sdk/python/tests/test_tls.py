"""The client against a server with a certificate from a private CA (TLS_CERT_FILE):
refused with the system's CAs, served with `verify=ssl.create_default_context(cafile=...)`,
sync and asyncio."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Server

import octostore
from octostore.aio import AsyncClient


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA and a certificate for 127.0.0.1 signed by it, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=sdk test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=d,
    )
    _openssl(
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        cwd=d,
    )
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
        cwd=d,
    )
    return d


@pytest.fixture(scope="module")
def tls_server(pki: Path) -> Iterator[Server]:
    s = Server(
        {"TLS_CERT_FILE": str(pki / "cert.pem"), "TLS_KEY_FILE": str(pki / "key.pem")},
        ca_file=str(pki / "ca.pem"),
    )
    yield s
    s.stop()


def test_system_cas_refuse_a_private_ca(tls_server: Server) -> None:
    assert tls_server.url.startswith("https://")
    token = tls_server.create_account("tls").token
    with (
        octostore.Client(tls_server.url, token, timeout=5) as c,
        pytest.raises(octostore.errors.OctoStoreError) as e,
    ):
        c.try_lock("tls-lock", ttl=5)
    assert (
        "CERTIFICATE_VERIFY_FAILED" in str(e.value)
        or "certificate" in str(e.value).lower()
    )


def test_verify_with_the_ca_locks_over_tls(tls_server: Server, pki: Path) -> None:
    token = tls_server.create_account("tls").token
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with octostore.Client(tls_server.url, token, verify=ctx, timeout=5) as c:
        lease = c.try_lock("tls-lock", ttl=5)
        assert lease is not None and lease.fencing_token > 0
        lease.release()


def test_asyncio_client_takes_the_ca_too(tls_server: Server, pki: Path) -> None:
    token = tls_server.create_account("tls").token
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))

    async def main() -> int:
        async with AsyncClient(tls_server.url, token, verify=ctx, timeout=5) as c:
            lease = await c.try_lock("tls-lock-aio", ttl=5)
            assert lease is not None
            await lease.release()
            return lease.fencing_token

    assert asyncio.run(main()) > 0
