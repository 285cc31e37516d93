"""Sessions, semaphores, lock-delay and prefix watches (issue 16): the request bodies and
the retry and loss logic against a mocked transport, and the session's loss signal
against a live server."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from harness import Server

import octostore
from octostore import errors

LEASE = "6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70"
SESSION = "ses_4f9c2b7e1a0d48c6b3e5f7a9c1d2e3f4"
EXPIRES = "2026-02-12T01:00:00Z"


def problem(code: str, status: int, **headers: str) -> httpx.Response:
    body = {"type": f"urn:octostore:problem:{code}", "title": code, "status": status, "code": code, "request_id": "r-1"}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json", **headers})


def session_answer(status: int = 201, renew_after_ms: int = 5000) -> httpx.Response:
    return httpx.Response(
        status,
        json={"session_id": SESSION, "ttl_seconds": 15, "expires_at": EXPIRES, "renew_after_ms": renew_after_ms},
    )


def acquired(token: int = 7) -> httpx.Response:
    return httpx.Response(
        200,
        json={"status": "acquired", "lease_id": LEASE, "fencing_token": token, "expires_at": EXPIRES, "renew_after_ms": 5000},
    )


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> octostore.Client:
    return octostore.Client(
        "http://octostore.invalid", "tok", owner="w-1", httpx_args={"transport": httpx.MockTransport(handler)}
    )


class Recorder:
    """A mocked server: answers by (method, path suffix), records every request."""

    def __init__(self, routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self.mu = threading.Lock()

    def __call__(self, req: httpx.Request) -> httpx.Response:
        with self.mu:
            self.requests.append(req)
        for (method, suffix), answer in self.routes.items():
            if req.method == method and req.url.path.endswith(suffix):
                return answer(req)
        return problem("not_found", 404)

    def seen(self, method: str, suffix: str) -> list[httpx.Request]:
        with self.mu:
            return [r for r in self.requests if r.method == method and r.url.path.endswith(suffix)]


# ---- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("session_not_found", 404, errors.SessionNotFound),
        ("max_holders_mismatch", 409, errors.MaxHoldersMismatch),
        ("session_mismatch", 409, errors.SessionMismatch),
        ("session_limit_exceeded", 409, errors.SessionLimitExceeded),
        ("too_many_waiters", 429, errors.RateLimited),
    ],
)
def test_new_problem_codes_map_to_typed_errors(code: str, status: int, cls: type[errors.ProblemError]) -> None:
    r = problem(code, status)
    e = errors.problem_error(status, r.content, r.headers)
    assert type(e) is cls
    assert (e.code, e.status) == (code, status)


# ---- lock-delay and semaphores ----------------------------------------------------------


def test_lock_delay_is_sent_and_a_held_answer_during_it_has_no_holder_and_available_at() -> None:
    bodies: list[dict[str, object]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(req.content))
        return httpx.Response(
            200,
            json={
                "status": "held",
                "holder_id": None,
                "expires_at": EXPIRES,
                "available_at": EXPIRES,
                "retry_after_ms": 700,
            },
        )

    got = mocked(handler).acquire("printer", 30, lock_delay=5)
    assert isinstance(got, octostore.Held)
    assert got.holder_id is None
    assert got.available_at is not None and got.available_at.isoformat().startswith("2026-02-12T01:00:00")
    assert got.retry_after_ms == 700
    assert bodies == [{"ttl_seconds": 30, "owner": "w-1", "lock_delay_seconds": 5}]


def test_semaphore_sends_max_holders_in_every_form() -> None:
    bodies: list[dict[str, object]] = []
    answers = iter([acquired(1), acquired(2), acquired(3)])

    def handler(req: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(req.content))
        return next(answers)

    sem = mocked(handler).semaphore("pool", 3)
    assert sem.try_lock(10, auto_renew=False) is not None
    assert isinstance(sem.acquire(10, auto_renew=False), octostore.Lease)
    assert sem.lock(10, wait=5, auto_renew=False, lock_delay=2).fencing_token == 3
    assert [b["max_holders"] for b in bodies] == [3, 3, 3]
    assert bodies[2] == {"ttl_seconds": 10, "owner": "w-1", "wait_seconds": 5, "lock_delay_seconds": 2, "max_holders": 3}


def held_by(revision: int, holder: str, token: int, value: str) -> dict[str, object]:
    """A status answer of the election lock "leader", held by `holder` with `value`."""
    h = {"holder_id": holder, "fencing_token": token, "expires_at": EXPIRES, "metadata": value}
    return {"name": "leader", "status": "held", "revision": revision, **h, "max_holders": 1, "holders": [h]}


ALICE = held_by(5, "tok_a/w-1", 3, "alice:8080")
# After alice's lease expired: a lock-delay keeps the lock, held by nobody.
DELAYED = {"name": "leader", "status": "held", "revision": 6, "holder_id": None, "max_holders": 1, "holders": [],
           "available_at": EXPIRES}
FREED = {"name": "leader", "status": "free", "revision": 7}
BOB = held_by(8, "tok_b/w-2", 4, "bob:8080")


def test_nobody_leads_while_a_lock_delay_keeps_the_election_lock() -> None:
    answers = iter([ALICE, DELAYED, ALICE, DELAYED, FREED, BOB])
    election = mocked(lambda req: httpx.Response(200, json=next(answers))).election("leader")
    alice = octostore.Leader(value="alice:8080", holder_id="tok_a/w-1", fencing_token=3, revision=5)
    bob = octostore.Leader(value="bob:8080", holder_id="tok_b/w-2", fencing_token=4, revision=8)
    assert election.leader() == alice
    assert election.leader() is None, "a lock kept by a lock-delay has no leader"
    # The observer reports alice, nobody, then bob: nobody only once, since the delay
    # ending (the lock becomes free) is no change of leader.
    assert list(itertools.islice(election.observe(poll_wait=1), 3)) == [alice, None, bob]


@pytest.mark.parametrize("n", [0, 65, -1])
def test_semaphore_size_is_checked_without_a_request(n: int) -> None:
    calls: list[httpx.Request] = []
    client = mocked(lambda req: calls.append(req) or acquired())
    with pytest.raises(ValueError, match="1 to 64"):
        client.semaphore("pool", n)
    assert calls == []


def test_status_reports_holders_max_holders_and_available_at() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        holder = {"holder_id": "tok_a/w", "fencing_token": 4, "expires_at": EXPIRES}
        return httpx.Response(
            200,
            json={
                "name": "pool",
                "status": "held",
                "revision": 9,
                "holder_id": "tok_a/w",
                "fencing_token": 4,
                "expires_at": EXPIRES,
                "max_holders": 2,
                "holders": [holder, {**holder, "fencing_token": 5, "holder_id": "tok_b/w"}],
            },
        )

    s = mocked(handler).status("pool")
    assert (s.max_holders, len(s.holders), s.available_at) == (2, 2, None)
    assert [h.fencing_token for h in s.holders] == [4, 5]


# ---- sessions against a mocked server -------------------------------------------------


def test_session_locks_send_session_id_and_no_ttl_and_close_deletes_it() -> None:
    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(),
            ("POST", "/acquire"): lambda req: acquired(),
            ("DELETE", f"/sessions/{SESSION}"): lambda req: httpx.Response(204),
        }
    )
    client = mocked(srv)
    with client.session(ttl=15) as session:
        assert session.id == SESSION
        lease = session.try_lock("leader", lock_delay=10)
        assert lease is not None and lease.session is session
        session.semaphore("pool", 2).lock(wait=1)
    bodies = [json.loads(r.content) for r in srv.seen("POST", "/acquire")]
    assert bodies[0] == {"owner": "w-1", "session_id": SESSION, "lock_delay_seconds": 10}
    assert bodies[1] == {"owner": "w-1", "wait_seconds": 1, "session_id": SESSION, "max_holders": 2}
    assert json.loads(srv.seen("POST", "/sessions")[0].content) == {"ttl_seconds": 15}
    assert len(srv.seen("DELETE", f"/sessions/{SESSION}")) == 1
    assert not session.lost.is_set(), "closing is not a loss"
    assert not lease.lost.is_set()
    lease.close()  # the session released it: no request
    assert srv.seen("POST", "/release") == []
    with pytest.raises(errors.SessionEnded):
        session.try_lock("leader")


def test_session_renews_at_renew_after_ms() -> None:
    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(renew_after_ms=50),
            ("POST", f"/sessions/{SESSION}/renew"): lambda req: session_answer(200, renew_after_ms=50),
            ("DELETE", f"/sessions/{SESSION}"): lambda req: httpx.Response(204),
        }
    )
    session = mocked(srv).session(ttl=1)
    deadline = time.monotonic() + 10
    while len(srv.seen("POST", "/renew")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    session.close()
    assert len(srv.seen("POST", "/renew")) >= 3
    assert not session.lost.is_set()


def test_unreachable_server_during_keep_alive_ends_in_loss_at_the_deadline() -> None:
    def renew(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=req)

    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(renew_after_ms=100),
            ("POST", "/acquire"): lambda req: acquired(),
            ("POST", f"/sessions/{SESSION}/renew"): renew,
        }
    )
    started = time.monotonic()
    session = mocked(srv).session(ttl=1)
    lease = session.try_lock("job")
    assert lease is not None
    assert session.lost.wait(10), "no loss signal after the keep-alive failed until the deadline"
    elapsed = time.monotonic() - started
    # The local deadline is 3 × renew_after_ms after the create was sent: not before it.
    assert elapsed >= 0.3 - 0.01, f"loss after {elapsed:.3f}s, before the session's deadline"
    assert isinstance(session.lost_reason, errors.TransportError)
    assert len(srv.seen("POST", "/renew")) >= 2, "the keep-alive retried before giving up"
    assert lease.lost.wait(1), "a lease bound to a lost session is lost too"
    session.close()  # after a loss: at once, no request
    assert srv.seen("DELETE", f"/sessions/{SESSION}") == []


def test_session_not_found_on_renewal_is_a_loss_at_once_without_retries() -> None:
    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(renew_after_ms=200),
            ("POST", f"/sessions/{SESSION}/renew"): lambda req: problem("session_not_found", 404),
        }
    )
    session = mocked(srv).session(ttl=1)
    assert session.lost.wait(10)
    assert isinstance(session.lost_reason, errors.SessionNotFound)
    session._thread.join(10)
    assert len(srv.seen("POST", "/renew")) == 1, "session_not_found is final: no retry until the deadline"


def test_orphan_stops_the_keep_alive_without_deleting_and_is_not_a_loss() -> None:
    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(renew_after_ms=30),
            ("POST", "/acquire"): lambda req: acquired(),
            ("POST", f"/sessions/{SESSION}/renew"): lambda req: session_answer(200, renew_after_ms=30),
        }
    )
    session = mocked(srv).session(ttl=1)
    lease = session.try_lock("job")
    assert lease is not None
    session.orphan()
    renewals = len(srv.seen("POST", "/renew"))
    session.close()  # after an orphan: no request
    assert srv.seen("DELETE", f"/sessions/{SESSION}") == []
    assert not session.lost.is_set()
    assert lease.lost.is_set(), "nothing keeps the session's leases any more"
    assert isinstance(lease.lost_reason, errors.SessionEnded)
    # The keep-alive thread has ended, and with it the renewals.
    assert not session._thread.is_alive()
    assert len(srv.seen("POST", "/renew")) == renewals


# ---- prefix watch ---------------------------------------------------------------------


def test_prefix_index_and_watch_prefix_wait_out_429_and_503() -> None:
    answers = iter(
        [
            problem("unavailable", 503, **{"retry-after": "0"}),
            problem("rate_limited", 429, **{"retry-after": "0"}),
            httpx.Response(200, json={"locks": [], "index": 12, "changes": [], "complete": True}),
            httpx.Response(
                200,
                json={
                    "locks": [],
                    "index": 14,
                    "complete": True,
                    "changes": [
                        {"name": "jobs.a", "status": "free", "revision": 13},
                        {"name": "jobs.b", "status": "held", "revision": 14, "holder_id": "tok_a/w", "fencing_token": 8},
                    ],
                },
            ),
        ]
    )
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        if "index" not in req.url.params:
            return httpx.Response(200, json={"locks": [], "index": 11})
        return next(answers)

    client = mocked(handler)
    assert client.prefix_index("jobs.") == 11
    assert seen[0].url.params["prefix"] == "jobs."
    first = next(iter(client.watch_prefix("jobs.", 11, timeout=30)))
    assert first.index == 14 and first.complete
    assert [(c.name, c.status) for c in first.changes] == [("jobs.a", "free"), ("jobs.b", "held")]
    # Every request came back with the latest index: 11 until an answer moved it to 12.
    assert [r.url.params["index"] for r in seen[1:]] == ["11", "11", "11", "12"]


def test_watch_prefix_ends_at_its_timeout_without_changes() -> None:
    client = mocked(lambda req: httpx.Response(200, json={"locks": [], "index": 5, "changes": [], "complete": True}))
    assert list(client.watch_prefix("jobs.", 5, timeout=0.5)) == []


# ---- sessions against a live server ---------------------------------------------------


def test_session_deleted_behind_the_helpers_back_fires_the_loss_signal(server: Server) -> None:
    acc = server.create_account("unit")
    client = octostore.Client(server.url, acc.token)
    session = client.session(ttl=2)
    lease = session.try_lock("job")
    assert lease is not None
    r = httpx.delete(f"{server.url}/sessions/{session.id}", headers={"Authorization": f"Bearer {acc.token}"})
    assert r.status_code == 204
    assert session.lost.wait(10), "no loss signal after the session was deleted"
    assert isinstance(session.lost_reason, errors.SessionNotFound)
    assert lease.lost.wait(1)
    assert client.status("job").status == "free"
    with pytest.raises(errors.SessionNotFound):
        session.try_lock("job")
    session.close()
    client.close()


def test_session_with_block_closes_and_releases_and_raises_session_lost_after_a_loss(server: Server) -> None:
    acc = server.create_account("unit")
    client = octostore.Client(server.url, acc.token)
    with client.session(ttl=5) as session:
        assert session.lock("a", wait=1).fencing_token > 0
        assert client.status("a").status == "held"
    assert client.status("a").status == "free"
    with pytest.raises(errors.SessionLost), client.session(ttl=2) as lost:
        httpx.delete(f"{server.url}/sessions/{lost.id}", headers={"Authorization": f"Bearer {acc.token}"})
        assert lost.lost.wait(10)
    client.close()


# ---- asyncio --------------------------------------------------------------------------


def amocked(handler: Callable[[httpx.Request], httpx.Response]) -> octostore.AsyncClient:
    return octostore.AsyncClient(
        "http://octostore.invalid", "tok", owner="w-1", httpx_args={"transport": httpx.MockTransport(handler)}
    )


def test_async_nobody_leads_while_a_lock_delay_keeps_the_election_lock() -> None:
    answers = iter([DELAYED, ALICE, DELAYED, FREED, BOB])

    async def main() -> None:
        async with amocked(lambda req: httpx.Response(200, json=next(answers))) as client:
            election = client.election("leader")
            assert await election.leader() is None
            seen = []
            async for leader in election.observe(poll_wait=1):
                seen.append(None if leader is None else leader.value)
                if len(seen) == 3:
                    break
            assert seen == ["alice:8080", None, "bob:8080"]

    asyncio.run(main())


def test_async_session_semaphore_lock_delay_and_close() -> None:
    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(),
            ("POST", "/acquire"): lambda req: acquired(),
            ("POST", "/release"): lambda req: httpx.Response(200, json={"status": "released", "lease_id": LEASE, "fencing_token": 7}),
            ("DELETE", f"/sessions/{SESSION}"): lambda req: httpx.Response(204),
        }
    )

    async def main() -> None:
        client = amocked(srv)
        async with await client.session(ttl=15) as session:
            lease = await session.try_lock("leader", lock_delay=10)
            assert lease is not None and lease.session is session
            async with session.semaphore("pool", 2).lock(wait=1):
                pass
        assert not session.lost.is_set()
        with pytest.raises(errors.SessionEnded):
            await session.try_lock("leader")
        await client.semaphore("pool", 3).try_lock(10, auto_renew=False, lock_delay=2)
        await client.aclose()

    asyncio.run(main())
    bodies = [json.loads(r.content) for r in srv.seen("POST", "/acquire")]
    assert bodies[0] == {"owner": "w-1", "session_id": SESSION, "lock_delay_seconds": 10}
    assert bodies[1] == {"owner": "w-1", "wait_seconds": 1, "session_id": SESSION, "max_holders": 2}
    assert len(srv.seen("POST", "/release")) == 1  # the semaphore's `async with`
    assert bodies[2] == {"ttl_seconds": 10, "owner": "w-1", "lock_delay_seconds": 2, "max_holders": 3}
    assert len(srv.seen("DELETE", f"/sessions/{SESSION}")) == 1


def test_async_unreachable_server_during_keep_alive_ends_in_loss_at_the_deadline() -> None:
    def renew(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=req)

    srv = Recorder(
        {
            ("POST", "/sessions"): lambda req: session_answer(renew_after_ms=100),
            ("POST", f"/sessions/{SESSION}/renew"): renew,
        }
    )

    async def main() -> None:
        client = amocked(srv)
        started = time.monotonic()
        session = await client.session(ttl=1)
        await asyncio.wait_for(session.lost.wait(), 10)
        assert time.monotonic() - started >= 0.3 - 0.01
        assert isinstance(session.lost_reason, errors.TransportError)
        await session.close()
        await client.aclose()

    asyncio.run(main())
    assert srv.seen("DELETE", f"/sessions/{SESSION}") == []


def test_async_watch_prefix_waits_out_503() -> None:
    answers = iter(
        [
            problem("unavailable", 503, **{"retry-after": "0"}),
            httpx.Response(
                200,
                json={"locks": [], "index": 3, "complete": True, "changes": [{"name": "jobs.a", "status": "held", "revision": 3}]},
            ),
        ]
    )

    async def main() -> list[octostore.PrefixChanges]:
        client = amocked(lambda req: next(answers))
        out = []
        async for answer in client.watch_prefix("jobs.", 1, timeout=10):
            out.append(answer)
            break
        await client.aclose()
        return out

    (got,) = asyncio.run(main())
    assert got.index == 3 and [c.name for c in got.changes] == ["jobs.a"]


def test_async_session_deleted_behind_the_helpers_back_fires_the_loss_signal(server: Server) -> None:
    acc = server.create_account("unit")

    async def main() -> None:
        async with octostore.AsyncClient(server.url, acc.token) as client:
            session = await client.session(ttl=2)
            lease = await session.try_lock("job")
            assert lease is not None
            async with httpx.AsyncClient() as http:
                r = await http.delete(f"{server.url}/sessions/{session.id}", headers={"Authorization": f"Bearer {acc.token}"})
            assert r.status_code == 204
            await asyncio.wait_for(session.lost.wait(), 10)
            assert isinstance(session.lost_reason, errors.SessionNotFound)
            assert lease.lost.is_set()
            with pytest.raises(errors.SessionNotFound):
                await session.try_lock("job")
            async with await client.session(ttl=5) as s2:
                await s2.lock("b", wait=1)
                assert (await client.status("b")).status == "held"
            assert (await client.status("b")).status == "free"

    asyncio.run(main())
