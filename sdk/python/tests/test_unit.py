"""Unit tests of the helpers: error mapping and retry logic against a mocked transport,
and the context-manager, asyncio and election behaviour against a live server."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from harness import Server

import octostore
from octostore import errors
from octostore.openapi.api.locks import release_lock
from octostore.openapi.models.release_request import ReleaseRequest

LEASE = "6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70"
EXPIRES = "2026-02-12T01:00:00Z"


def problem(code: str, status: int, **headers: str) -> httpx.Response:
    body = {"type": f"urn:octostore:problem:{code}", "title": code, "status": status, "code": code, "request_id": "r-1"}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json", **headers})


def acquired(token: int = 7) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "status": "acquired",
            "lease_id": LEASE,
            "fencing_token": token,
            "expires_at": EXPIRES,
            "renew_after_ms": 10000,
        },
    )


def held(retry_after_ms: int = 100) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "status": "held",
            "holder_id": "tok_aaaaaaaaaaaa",
            "expires_at": EXPIRES,
            "retry_after_ms": retry_after_ms,
        },
    )


def mocked(handler: Callable[[httpx.Request], httpx.Response], owner: str | None = None) -> octostore.Client:
    return octostore.Client(
        "http://octostore.invalid", "tok", owner=owner, httpx_args={"transport": httpx.MockTransport(handler)}
    )


# ---- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("invalid_request", 400, errors.InvalidRequest),
        ("invalid_lock_name", 400, errors.InvalidLockName),
        ("invalid_ttl", 400, errors.InvalidTTL),
        ("unauthorized", 401, errors.Unauthorized),
        ("not_found", 404, errors.NotFound),
        ("method_not_allowed", 405, errors.MethodNotAllowed),
        ("lease_not_current", 409, errors.LeaseNotCurrent),
        ("lock_limit_exceeded", 409, errors.LockLimitExceeded),
        ("payload_too_large", 413, errors.PayloadTooLarge),
        ("unsupported_media_type", 415, errors.UnsupportedMediaType),
        ("rate_limited", 429, errors.RateLimited),
        ("unavailable", 503, errors.Unavailable),
        ("internal", 500, errors.ServerError),
    ],
)
def test_problem_codes_map_to_typed_errors(code: str, status: int, cls: type[errors.ProblemError]) -> None:
    r = problem(code, status, **{"retry-after": "3"})
    e = errors.problem_error(status, r.content, r.headers)
    assert type(e) is cls
    assert (e.code, e.status, e.request_id, e.retry_after) == (code, status, "r-1", 3.0)
    assert isinstance(e, octostore.OctoStoreError)


def test_answer_without_problem_document_is_a_server_error() -> None:
    e = errors.problem_error(502, b"<html>bad gateway</html>", {})
    assert isinstance(e, errors.ServerError)
    assert (e.code, e.status) == ("unexpected_response", 502)


def test_try_lock_when_held_returns_none_and_acquire_says_who() -> None:
    client = mocked(lambda req: held())
    assert client.try_lock("job") is None
    got = client.acquire("job")
    assert isinstance(got, octostore.Held)
    assert got.holder_id == "tok_aaaaaaaaaaaa"
    assert got.retry_after_ms == 100


def test_default_owner_is_unique_and_overridable() -> None:
    a, b = mocked(lambda req: held()), mocked(lambda req: held())
    assert a.owner != b.owner
    assert re.fullmatch(rf"[A-Za-z0-9._-]+-{os.getpid()}-[0-9a-f]{{8}}", a.owner)
    assert mocked(lambda req: held(), owner="w-1").owner == "w-1"


def test_defaults_ttl_15_and_timeout_10() -> None:
    bodies: list[dict[str, object]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(req.content))
        return held()

    client = mocked(handler)
    assert client.timeout == 10.0
    client.try_lock("job")
    assert bodies[0]["ttl_seconds"] == 15
    assert client.election("e").ttl == 15


def test_empty_lock_name_is_invalid_lock_name() -> None:
    with pytest.raises(octostore.InvalidLockName):
        mocked(lambda req: held()).try_lock("")


def test_dot_lock_names_are_invalid_lock_name_without_a_request() -> None:
    sent: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req.url.raw_path.decode())
        return held()

    for name in (".", ".."):
        with pytest.raises(octostore.InvalidLockName):
            mocked(handler).try_lock(name)
        with pytest.raises(octostore.InvalidLockName):
            mocked(handler).status(name)
    assert sent == []
    mocked(handler).try_lock("...")
    assert sent == ["/locks/.../acquire"]


def test_list_follows_every_page() -> None:
    queries: list[dict[str, str]] = []

    def lock(name: str) -> dict[str, object]:
        return {"name": name, "status": "held", "revision": 1, "holder_id": "tok_aaaaaaaaaaaa", "fencing_token": 1, "expires_at": EXPIRES}

    def handler(req: httpx.Request) -> httpx.Response:
        q = dict(req.url.params)
        queries.append(q)
        if "cursor" not in q:
            return httpx.Response(200, json={"locks": [lock("a"), lock("b")], "next_cursor": "c1"})
        return httpx.Response(200, json={"locks": [lock("c")]})

    assert [s.name for s in mocked(handler).list()] == ["a", "b", "c"]
    # The generated client also sends the spec's default consistency=linearizable.
    for q in queries:
        assert q.pop("consistency", "linearizable") == "linearizable"
    assert queries == [{"limit": "1000"}, {"limit": "1000", "cursor": "c1"}]


def test_several_base_urls_move_on_after_transport_error_or_503() -> None:
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.url.host)
        if req.url.host == "a.invalid":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=req)
        if req.url.host == "b.invalid":
            return problem("unavailable", 503)
        return held()

    client = octostore.Client(
        ["http://a.invalid", "http://b.invalid", "http://c.invalid"],
        "tok",
        httpx_args={"transport": httpx.MockTransport(handler)},
    )
    assert client.try_lock("job") is None
    assert seen == ["a.invalid", "b.invalid", "c.invalid"]
    client.try_lock("job")
    assert seen[-1] == "c.invalid"  # it stays on the one that answered


def test_transport_errors_name_the_url_and_the_cause() -> None:
    def fail(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=req)

    with pytest.raises(octostore.TransportError, match=r"http://octostore\.invalid: .*refused"):
        mocked(fail).status("job")


def test_error_responses_raise_typed_errors_through_the_helpers() -> None:
    client = mocked(lambda req: problem("lock_limit_exceeded", 409))
    with pytest.raises(octostore.LockLimitExceeded):
        client.try_lock("job")
    with pytest.raises(octostore.LockLimitExceeded):
        client.lock("job", wait=5)


def test_connection_failure_is_a_transport_error() -> None:
    def fail(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    with pytest.raises(octostore.TransportError):
        mocked(fail).status("job")


def test_a_success_that_does_not_match_the_api_is_a_protocol_error() -> None:
    client = mocked(lambda req: httpx.Response(200, json={"status": "acquired"}))
    with pytest.raises(octostore.ProtocolError):
        client.try_lock("job")
    client = mocked(lambda req: httpx.Response(200, json={"status": "acquired", "expires_at": EXPIRES}))
    with pytest.raises(octostore.ProtocolError):
        client.try_lock("job")


def test_request_bodies_carry_owner_wait_and_metadata_only_when_set() -> None:
    bodies: list[dict[str, object]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(req.content))
        return acquired()

    mocked(handler).try_lock("job", 10, auto_renew=False)
    mocked(handler, owner="w-1").lock("job", 10, wait=5, metadata="m", auto_renew=False)
    assert set(bodies[0]) == {"ttl_seconds", "owner"}  # the default owner is always sent
    assert bodies[1] == {"ttl_seconds": 10, "owner": "w-1", "wait_seconds": 5, "metadata": "m"}


def test_lock_names_are_path_encoded() -> None:
    paths: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        paths.append(req.url.raw_path.decode())
        return problem("invalid_lock_name", 400)

    with pytest.raises(octostore.InvalidLockName):
        mocked(handler).try_lock("a b/c")
    assert paths == ["/locks/a%20b%2Fc/acquire"]


def test_lock_retries_an_early_held_until_granted() -> None:
    answers = iter([held(50), held(50), acquired(9)])
    client = mocked(lambda req: next(answers))
    lease = client.lock("job", wait=30, auto_renew=False)
    assert lease.fencing_token == 9


def test_lock_with_no_wait_is_one_attempt() -> None:
    calls = []
    client = mocked(lambda req: calls.append(req) or held())
    with pytest.raises(octostore.LockTimeout) as info:
        client.lock("job", wait=0)
    assert info.value.code == "timeout"
    assert isinstance(info.value, TimeoutError)
    assert len(calls) == 1


def test_renewal_failing_until_the_lease_ends_marks_it_lost() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/acquire"):
            return httpx.Response(
                200,
                json={
                    "status": "acquired",
                    "lease_id": LEASE,
                    "fencing_token": 3,
                    "expires_at": EXPIRES,
                    "renew_after_ms": 1000,
                },
            )
        return problem("unavailable", 503)

    # The lease has 3 s (3 × renew_after_ms) and the first renewal comes after 1 s: room for
    # a loaded machine to wake the renew thread late. With 150 ms the lease could run out
    # before the first attempt, and the reason was then "ran out", not the server's 503.
    lease = mocked(handler).try_lock("job", ttl=3)
    assert lease.lost.wait(20), "lease not marked lost"
    assert isinstance(lease.lost_reason, octostore.Unavailable)


def test_version_has_one_source() -> None:
    assert importlib.metadata.version("octostore") == octostore.__version__


# ---- against a live server ------------------------------------------------------------


@pytest.fixture()
def tokens(server: Server) -> Iterator[tuple[str, str]]:
    acc = server.create_account("unit")
    other = server.create_token(acc.account_id)
    yield acc.token, other.token


def test_with_block_holds_then_releases(server: Server, tokens: tuple[str, str]) -> None:
    a, b = (octostore.Client(server.url, t) for t in tokens)
    with a.lock("report", ttl=5, wait=5) as lease:
        assert b.status("report").fencing_token == lease.fencing_token
        assert b.try_lock("report") is None
    assert b.status("report").status == "free"
    assert lease._stop.is_set()  # the renew thread was told to stop
    a.close()
    b.close()


def test_with_block_releases_when_the_body_raises(server: Server, tokens: tuple[str, str]) -> None:
    with octostore.Client(server.url, tokens[0]) as client:
        with pytest.raises(RuntimeError), client.lock("crashy", ttl=5, wait=5):
            raise RuntimeError("boom")
        assert client.status("crashy").status == "free"


def test_with_block_user_error_surfaces_with_the_failed_release_as_a_note(
    server: Server, tokens: tuple[str, str]
) -> None:
    with octostore.Client(server.url, tokens[0]) as client:
        with pytest.raises(RuntimeError) as info, client.lock("noted", ttl=5, wait=5) as lease:
            release_lock.sync_detailed("noted", client=client.raw, body=ReleaseRequest(lease_id=uuid.UUID(lease.lease_id)))
            raise RuntimeError("boom")
        assert any("lease_not_current" in n for n in getattr(info.value, "__notes__", []))


def test_with_block_that_lost_its_lock_raises_lock_lost(server: Server, tokens: tuple[str, str]) -> None:
    with octostore.Client(server.url, tokens[0]) as client:
        with pytest.raises(octostore.LockLost), client.lock("lossy", ttl=2, wait=0) as lease:
            release_lock.sync_detailed("lossy", client=client.raw, body=ReleaseRequest(lease_id=uuid.UUID(lease.lease_id)))
            assert lease.lost.wait(10)
        lease.close()  # after a loss: returns at once, no error


def test_lost_is_set_when_the_lease_is_taken_away(server: Server, tokens: tuple[str, str]) -> None:
    with octostore.Client(server.url, tokens[0]) as client:
        lease = client.lock("victim", ttl=2, wait=0)
        assert not lease.lost.is_set()
        # Release behind the helper's back (with the generated client): its next renewal is refused.
        res = release_lock.sync_detailed(
            "victim", client=client.raw, body=ReleaseRequest(lease_id=uuid.UUID(lease.lease_id))
        )
        assert res.status_code == 200
        assert lease.lost.wait(10)
        assert isinstance(lease.lost_reason, octostore.LeaseNotCurrent)


def test_async_lock_election_and_observe(server: Server, tokens: tuple[str, str]) -> None:
    async def main() -> None:
        async with octostore.AsyncClient(server.url, tokens[0]) as a, octostore.AsyncClient(server.url, tokens[1]) as b:
            async with a.lock("async-job", ttl=5, wait=5) as lease:
                assert not lease.lost.is_set()
                assert await b.try_lock("async-job") is None
            assert (await b.status("async-job")).status == "free"

            ea, eb = a.election("async-leader"), b.election("async-leader")
            first = await ea.campaign("a:1", wait=5)
            leader = await eb.leader()
            assert leader is not None and leader.value == "a:1" and leader.fencing_token == first.fencing_token

            seen: list[str | None] = []
            first_seen = asyncio.Event()

            async def watch() -> None:
                async for leader in eb.observe(timeout=20, poll_wait=5):
                    seen.append(None if leader is None else leader.value)
                    first_seen.set()
                    if seen[-1] == "b:1":
                        return

            observer = asyncio.create_task(watch())
            await asyncio.wait_for(first_seen.wait(), 10)
            campaign = asyncio.create_task(eb.campaign("b:1", wait=20))
            await ea.resign()
            second = await asyncio.wait_for(campaign, 25)
            await asyncio.wait_for(observer, 25)
            assert second.fencing_token > first.fencing_token
            assert seen[0] == "a:1" and seen[-1] == "b:1"
            await eb.resign()

    asyncio.run(main())


def test_async_shared_token_scoped_errors_and_close_after_loss(server: Server, tokens: tuple[str, str]) -> None:
    async def main() -> None:
        async with octostore.AsyncClient(server.url, tokens[0]) as a, octostore.AsyncClient(server.url, tokens[0]) as b:
            assert a.owner != b.owner
            lease = await a.try_lock("async-shared", auto_renew=False)
            assert lease is not None
            held = await b.acquire("async-shared")
            assert isinstance(held, octostore.Held) and held.holder_id is not None
            assert held.holder_id.endswith("/" + a.owner)
            await lease.release()
            with pytest.raises(octostore.LeaseNotCurrent):
                await lease.release()  # asks the server again
            await lease.close()  # returns at once, no error
            with pytest.raises(octostore.InvalidLockName):
                await a.try_lock("")

            with pytest.raises(RuntimeError) as info:
                async with a.lock("async-scoped", wait=5) as scoped:
                    release_lock.sync_detailed(
                        "async-scoped",
                        client=octostore.Client(server.url, tokens[0]).raw,
                        body=ReleaseRequest(lease_id=uuid.UUID(scoped.lease_id)),
                    )
                    raise RuntimeError("boom")
            assert any("lease_not_current" in n for n in getattr(info.value, "__notes__", []))

            with pytest.raises(octostore.LockLost):
                async with a.lock("async-lossy", ttl=2, wait=5) as lossy:
                    release_lock.sync_detailed(
                        "async-lossy",
                        client=octostore.Client(server.url, tokens[0]).raw,
                        body=ReleaseRequest(lease_id=uuid.UUID(lossy.lease_id)),
                    )
                    await asyncio.wait_for(lossy.lost.wait(), 10)
            assert (await a.status("async-lossy")).status == "free"

    asyncio.run(main())


def test_release_on_signals_releases_held_leases_then_chains(server: Server, tokens: tuple[str, str]) -> None:
    import signal

    seen: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        with octostore.Client(server.url, tokens[0]) as client:
            lease = client.lock("on-signal", wait=5)
            leader = client.election("on-signal-e").campaign("me", wait=5)
            octostore.release_on_signals((signal.SIGUSR1,))
            os.kill(os.getpid(), signal.SIGUSR1)
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                time.sleep(0.01)  # the handler runs on the main thread between bytecodes
            assert seen == [signal.SIGUSR1]  # the previous handler still ran
            assert client.status("on-signal").status == "free"
            assert client.status("on-signal-e").status == "free"
            lease.close()
            leader.close()
    finally:
        signal.signal(signal.SIGUSR1, previous)
