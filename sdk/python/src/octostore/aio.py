"""The asyncio client: the same helpers as `octostore.Client`, awaitable.

async with AsyncClient(url, token) as client:
    async with client.lock("nightly-report") as lease:
        await write(report, fencing_token=lease.fencing_token)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from types import ModuleType
from typing import Any, TypeVar

import httpx

from . import _core, errors
from ._core import Held, Leader, LockState, PrefixChanges
from .openapi.api.locks import (
    acquire_lock,
    get_lock,
    list_locks,
    release_lock,
    renew_lock,
)
from .openapi.api.sessions import create_session, delete_session, renew_session
from .openapi.client import AuthenticatedClient
from .openapi.models.acquire_result import AcquireResult
from .openapi.models.acquire_result_status import AcquireResultStatus
from .openapi.models.create_session_request import CreateSessionRequest
from .openapi.models.lock_list import LockList
from .openapi.models.lock_status import LockStatus
from .openapi.models.release_request import ReleaseRequest
from .openapi.models.release_result import ReleaseResult
from .openapi.models.renew_request import RenewRequest
from .openapi.models.renew_result import RenewResult
from .openapi.models.session_result import SessionResult

_TRANSIENT = (errors.TransportError, errors.Unavailable, errors.RateLimited, errors.ServerError, errors.ProtocolError)

T = TypeVar("T")
DEFAULT_TTL = 15
DEFAULT_TIMEOUT = 10.0

#: Every async lease still held in this process, for `release_all`.
_LIVE: weakref.WeakSet[AsyncLease] = weakref.WeakSet()


class AsyncClient:
    """The asyncio counterpart of `octostore.Client` (same arguments, same behaviour):
    one or several base URLs, a unique default `owner`, a 10 s request timeout."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        token: str,
        *,
        owner: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        httpx_args: dict[str, Any] | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("at least one base URL is needed")
        args = dict(httpx_args or {})
        self.base_urls: list[str] = [u.rstrip("/") for u in urls]
        self.owner: str = owner if owner is not None else _core.default_owner()
        self.timeout = timeout
        self._apis = [
            AuthenticatedClient(
                base_url=u, token=token, timeout=httpx.Timeout(timeout), verify_ssl=verify, httpx_args=args
            )
            for u in self.base_urls
        ]
        self._current = 0

    @property
    def raw(self) -> AuthenticatedClient:
        """The generated client (`octostore.openapi`) for the base URL in use."""
        return self._apis[self._current]

    async def try_lock(
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> AsyncLease | None:
        """One attempt: the lease, or None when someone else holds the lock."""
        got = await self.acquire(name, ttl, metadata=metadata, auto_renew=auto_renew, lock_delay=lock_delay)
        return got if isinstance(got, AsyncLease) else None

    async def acquire(
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> AsyncLease | Held:
        """One attempt: the lease, or a `Held` value naming the holder (None, with
        `available_at`, while a lock-delay keeps the lock; see `Client.acquire`)."""
        return await self._acquire(name, _core.Spec(ttl, metadata, auto_renew, lock_delay), 0)

    def lock(
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> _Acquiring:
        """Waits in line for the lock (at most `wait` seconds; None for ever). Await it for
        the lease, or use it directly as `async with client.lock(...) as lease:`, which
        releases on exit. Raises LockTimeout when the wait ends first."""
        spec = _core.Spec(ttl, metadata, auto_renew, lock_delay)
        return _Acquiring(lambda: self._lock(name, spec, wait))

    def semaphore(self, name: str, n: int) -> AsyncSemaphore:
        """A semaphore of `n` holders (1 to 64) on `name`; see `Client.semaphore`."""
        return AsyncSemaphore(self, name, n)

    async def session(self, ttl: int = DEFAULT_TTL) -> AsyncSession:
        """Creates a session and keeps it alive in an asyncio task; see `Client.session`
        and `AsyncSession`."""
        s = AsyncSession(self, ttl)
        await s._open()
        return s

    async def prefix_index(self, prefix: str) -> int:
        """The index to watch `prefix` from with `watch_prefix`."""
        page = await self._call(list_locks, LockList, prefix=prefix, limit=1)
        index = _core.opt(page.index)
        if index is None:
            raise errors.ProtocolError("prefix list without index")
        return int(index)

    async def watch_prefix(
        self, prefix: str, index: int, *, timeout: float | None = None, poll_wait: int = _core.MAX_WAIT_SECONDS
    ) -> AsyncIterator[PrefixChanges]:
        """Follows every change under `prefix` after `index`, yielding each answer with
        changes, until `timeout` seconds pass (None: for ever); waits out 429 and 503.
        See `Client.watch_prefix`::

            async for answer in client.watch_prefix("jobs.", await client.prefix_index("jobs.")):
                ...
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            wait = min(max(1, poll_wait), _core.wait_chunk(remaining))
            try:
                page = await self._call(list_locks, LockList, prefix=prefix, index=index, wait_seconds=wait, extra=wait)
            except (errors.RateLimited, errors.Unavailable) as e:
                delay = e.retry_after if e.retry_after is not None else 1.0
                left = None if deadline is None else deadline - time.monotonic()
                await asyncio.sleep(max(0.05, delay if left is None else min(delay, left)))
                continue
            answer = _core.to_changes(page)
            if answer.changes or not answer.complete:
                yield answer
            elif wait == 0:
                return
            index = max(index, answer.index)

    async def status(self, name: str) -> LockState:
        """The lock's current state."""
        _core.check_name(name)
        return _core.to_state(await self._call(get_lock, LockStatus, name))

    async def watch(self, name: str, index: int, wait: int = 30) -> LockState:
        """Returns once the lock's revision exceeds `index`, or after `wait` seconds."""
        _core.check_name(name)
        s = await self._call(get_lock, LockStatus, name, index=index, wait_seconds=wait, extra=wait)
        return _core.to_state(s)

    async def list(self) -> list[LockState]:
        """The account's active locks, by name: every page the server hands out (at most
        1000 locks each), up to a million locks."""
        out: list[LockState] = []
        cursor: str | None = None
        for _ in range(_core.MAX_LIST_PAGES):
            page: dict[str, Any] = {"limit": _core.MAX_LIST_PAGE}
            if cursor is not None:
                page["cursor"] = cursor
            res = await self._call(list_locks, LockList, **page)
            out.extend(_core.to_state(s) for s in res.locks)
            cursor = _core.next_cursor(res)
            if cursor is None:
                break
        return out

    def election(self, name: str, ttl: int = DEFAULT_TTL) -> AsyncElection:
        """An election on the lock `name`."""
        return AsyncElection(self, name, ttl)

    async def aclose(self) -> None:
        """Closes the connections."""
        for c in self._apis:
            await c.get_async_httpx_client().aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _call(
        self,
        module: ModuleType,
        expected: type[T],
        *args: Any,
        extra: float = 0.0,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> T:
        """As `Client._call`: the next base URL after a transport error or a 503, each
        attempt bounded by `timeout` (+ `extra`) and the monotonic `deadline`."""
        n = len(self._apis)
        start = self._current
        last: errors.OctoStoreError | None = None
        for k in range(n):
            i = (start + k) % n
            t = self.timeout + extra
            if deadline is not None:
                t = min(t, deadline - time.monotonic())
                if t <= 0:
                    break
            try:
                res = await _core.asend(
                    module, expected, *args, client=self._apis[i], timeout=t, url=self.base_urls[i], **kwargs
                )
            except (errors.TransportError, errors.Unavailable) as e:
                last = e
                continue
            self._current = i
            return res
        if last is None:
            raise errors.TransportError(f"{self.base_urls[start]}: no time left for the request")
        raise last

    async def _lock(self, name: str, spec: _core.Spec, wait: float | None) -> AsyncLease:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            got = await self._acquire(name, spec, _core.wait_chunk(remaining))
            if isinstance(got, AsyncLease):
                return got
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise errors.LockTimeout(name, wait or 0.0)
            delay = _core.retry_delay(got.retry_after_ms)
            await asyncio.sleep(delay if left is None else min(delay, left))

    async def _acquire(self, name: str, spec: _core.Spec, wait: int) -> AsyncLease | Held:
        _core.check_name(name)
        session = spec.session
        if session is not None:
            session._check_open()
        body = _core.acquire_body(
            spec.ttl,
            self.owner,
            wait,
            spec.metadata,
            session_id=None if session is None else session.id,
            lock_delay=spec.lock_delay,
            max_holders=spec.max_holders,
        )
        try:
            res = await self._call(acquire_lock, AcquireResult, name, body=body, extra=wait)
        except errors.SessionNotFound as e:
            if session is not None:
                # The server no longer knows the session: it is lost now, not when its
                # next renewal finds out, and so is every lease bound to it.
                session._lose(e)
            raise
        received = time.monotonic()
        if res.status == AcquireResultStatus.ACQUIRED:
            if _core.opt(res.lease_id) is None or _core.opt(res.fencing_token) is None:
                raise errors.ProtocolError("acquired without lease_id or fencing_token")
            ttl = spec.ttl if session is None else session.ttl
            return AsyncLease(self, name, ttl, res, spec.metadata, received, spec.auto_renew, session)
        return _core.to_held(name, res)


class _Acquiring:
    """`await client.lock(...)` or `async with client.lock(...) as lease:`."""

    def __init__(self, start: Callable[[], Awaitable[AsyncLease]]) -> None:
        self._start = start
        self._lease: AsyncLease | None = None

    def __await__(self) -> Generator[Any, None, AsyncLease]:
        return self._start().__await__()

    async def __aenter__(self) -> AsyncLease:
        self._lease = await self._start()
        return self._lease

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._lease is not None:
            await self._lease.__aexit__(exc_type, exc, tb)


class AsyncLease:
    """A held lock renewing itself in an asyncio task; see `octostore.Lease` (the same
    rules: deadline from the grant, renewals bounded by the lease, `close` never raises,
    `async with` lets your exception through and raises LockLost after a loss).

    `lost` is an asyncio.Event set when the lease ends without you releasing it. A lease
    taken through an `AsyncSession` (`session` is set) is kept by the session, not by a
    task of its own, and is lost when the session is lost or orphaned.
    """

    def __init__(
        self,
        client: AsyncClient,
        name: str,
        ttl: int,
        res: AcquireResult,
        metadata: str | None,
        received: float,
        auto_renew: bool,
        session: AsyncSession | None = None,
    ) -> None:
        self.name = name
        self.ttl = ttl
        self.metadata = metadata
        self.lease_id = str(res.lease_id)
        self.fencing_token: int = int(res.fencing_token)  # type: ignore[arg-type]
        self.lost = asyncio.Event()
        self.lost_reason: BaseException | None = None
        self.expires_at: datetime.datetime = res.expires_at
        self.renew_after_ms: int | None = _core.opt(res.renew_after_ms)
        self._client = client
        self._deadline = received + _core.lease_left(self.renew_after_ms, ttl)
        self._released = False
        self._task: asyncio.Task[None] | None = None
        #: The session the lease is bound to, if any.
        self.session = session
        _LIVE.add(self)
        if session is not None:
            session._bind(self)
        elif auto_renew:
            self._task = asyncio.get_running_loop().create_task(self._renew_loop(), name=f"octostore-renew-{name}")

    async def renew(self, ttl: int | None = None) -> AsyncLease:
        """Renews now; raises LeaseNotCurrent (and sets `lost`) when the lease ended."""
        try:
            await self._renew_now(self.ttl if ttl is None else ttl)
        except errors.LeaseNotCurrent as e:
            self._mark_lost(e)
            raise
        return self

    async def release(self) -> None:
        """Stops renewing and gives the lock back. Always asks the server:
        LeaseNotCurrent if it had ended."""
        await self._stop()
        try:
            await self._client._call(
                release_lock, ReleaseResult, self.name, body=ReleaseRequest(lease_id=uuid.UUID(self.lease_id))
            )
        finally:
            self._released = True
            _LIVE.discard(self)

    async def close(self) -> None:
        """Stops renewing and releases if still held; never raises, and returns at once
        after a loss or a release."""
        await self._stop()
        if self._released or self.lost.is_set():
            _LIVE.discard(self)
            return
        with contextlib.suppress(errors.OctoStoreError):
            await self.release()

    async def __aenter__(self) -> AsyncLease:
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            if self.lost.is_set():
                await self.close()
                exc.add_note(f"octostore: the lease on {self.name!r} was lost: {self.lost_reason}")
                return
            try:
                await self.release()
            except errors.OctoStoreError as e:
                exc.add_note(f"octostore: releasing {self.name!r} on exit failed: {e}")
            return
        if self.lost.is_set():
            await self.close()
            raise errors.LockLost(self.name, self.lost_reason) from self.lost_reason
        try:
            await self.release()
        except errors.LeaseNotCurrent as e:
            self._mark_lost(e)
            raise errors.LockLost(self.name, e) from e

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _renew_now(self, ttl: int, deadline: float | None = None) -> None:
        res = await self._client._call(
            renew_lock,
            RenewResult,
            self.name,
            body=RenewRequest(lease_id=uuid.UUID(self.lease_id), ttl_seconds=ttl),
            deadline=deadline,
        )
        received = time.monotonic()
        self.expires_at = max(self.expires_at, res.expires_at)
        self.renew_after_ms = _core.opt(res.renew_after_ms)
        self._deadline = max(self._deadline, received + _core.lease_left(self.renew_after_ms, ttl))

    def _end_with_session(self) -> None:
        """The session was closed: the server released this lease with it."""
        self._released = True
        _LIVE.discard(self)

    def _mark_lost(self, reason: BaseException) -> None:
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()
        _LIVE.discard(self)

    async def _renew_loop(self) -> None:
        delay = _core.renew_delay(self.renew_after_ms, self.ttl)
        failed: BaseException | None = None
        while True:
            await asyncio.sleep(delay)
            deadline = self._deadline
            if deadline - time.monotonic() <= 0:
                self._mark_lost(
                    failed or errors.TransportError(f"lease on {self.name!r} ran out before a renewal succeeded")
                )
                return
            try:
                await self._renew_now(self.ttl, deadline)
                delay = _core.renew_delay(self.renew_after_ms, self.ttl)
                failed = None
            except _TRANSIENT as e:
                failed = e
                left = deadline - time.monotonic()
                if left <= 0:
                    self._mark_lost(e)
                    return
                delay = min(0.5, left)
            except errors.OctoStoreError as e:
                self._mark_lost(e)
                return


async def release_all() -> None:
    """Releases every async lease this process still holds (errors ignored). For a
    shutdown hook: `loop.add_signal_handler(signal.SIGTERM, lambda:
    asyncio.ensure_future(octostore.aio.release_all()))`, or await it in your own
    SIGTERM handling before the loop stops."""
    for lease in list(_LIVE):
        await lease.close()


class AsyncElection:
    """Leader election on one lock; see `octostore.Election`."""

    def __init__(self, client: AsyncClient, name: str, ttl: int = DEFAULT_TTL) -> None:
        self.name = name
        self.ttl = ttl
        self._client = client
        self.lease: AsyncLease | None = None

    async def campaign(self, value: str, *, wait: float | None = None) -> AsyncLease:
        """Becomes leader with `value` (waiting at most `wait` seconds)."""
        self.lease = await self._client.lock(self.name, self.ttl, wait=wait, metadata=value)
        return self.lease

    async def leader(self) -> Leader | None:
        """The current leader, or None when nobody leads (also while a lock-delay keeps
        the lock); see `octostore.Election.leader`."""
        return _core.to_leader(await self._client.status(self.name))

    async def observe(self, *, timeout: float | None = None, poll_wait: int = 30) -> AsyncIterator[Leader | None]:
        """Yields the current leader, then each change, until `timeout` seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        state = await self._client.status(self.name)
        last = _core.leader_key(state)
        yield _core.to_leader(state)
        index = state.revision
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            wait = max(1, min(poll_wait, _core.wait_chunk(remaining)))
            started = time.monotonic()
            state = await self._client.watch(self.name, index, wait)
            if state.revision <= index and time.monotonic() - started < wait * 0.9:
                await asyncio.sleep(_core.DEFAULT_RETRY_SECONDS)
            index = max(index, state.revision)
            key = _core.leader_key(state)
            if key != last:
                last = key
                yield _core.to_leader(state)

    async def resign(self) -> None:
        """Gives up leadership if this election holds it."""
        lease, self.lease = self.lease, None
        if lease is not None:
            await lease.release()


class AsyncSemaphore:
    """The asyncio `Semaphore`: up to `n` holders at once, each with its own lease; made
    by `AsyncClient.semaphore` or `AsyncSession.semaphore`."""

    def __init__(self, via: AsyncClient | AsyncSession, name: str, n: int) -> None:
        _core.check_holders(n)
        self.name = name
        self.n = n
        self._via = via

    def _spec(
        self, ttl: int, metadata: str | None, auto_renew: bool, lock_delay: int | None
    ) -> tuple[AsyncClient, _core.Spec]:
        if isinstance(self._via, AsyncSession):
            sess = self._via
            return sess.client, _core.Spec(sess.ttl, metadata, False, lock_delay, self.n, sess)
        return self._via, _core.Spec(ttl, metadata, auto_renew, lock_delay, self.n)

    async def acquire(
        self, ttl: int = DEFAULT_TTL, *, metadata: str | None = None, auto_renew: bool = True, lock_delay: int | None = None
    ) -> AsyncLease | Held:
        """One attempt: a lease, or a `Held` value when all `n` places are taken."""
        client, spec = self._spec(ttl, metadata, auto_renew, lock_delay)
        return await client._acquire(self.name, spec, 0)

    async def try_lock(
        self, ttl: int = DEFAULT_TTL, *, metadata: str | None = None, auto_renew: bool = True, lock_delay: int | None = None
    ) -> AsyncLease | None:
        """One attempt: a lease, or None when all `n` places are taken."""
        got = await self.acquire(ttl, metadata=metadata, auto_renew=auto_renew, lock_delay=lock_delay)
        return got if isinstance(got, AsyncLease) else None

    def lock(
        self,
        ttl: int = DEFAULT_TTL,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> _Acquiring:
        """Waits for a place (at most `wait` seconds); await it or `async with` it."""
        client, spec = self._spec(ttl, metadata, auto_renew, lock_delay)
        return _Acquiring(lambda: client._lock(self.name, spec, wait))


class AsyncSession:
    """The asyncio `Session` (see `octostore.Session`: the same keep-alive, deadline and
    loss rules), made by `await client.session(ttl)` and kept alive in an asyncio task::

        async with await client.session(ttl=10) as session:
            async with session.lock("leader", wait=30) as lease:
                ...

    `lost` is an asyncio.Event, set on `session_not_found` (from a renewal, or from an
    acquire through the session, which raises `SessionNotFound`) or at the local
    deadline, not on `close` or `orphan`."""

    def __init__(self, client: AsyncClient, ttl: int = DEFAULT_TTL) -> None:
        self.client = client
        self.ttl = ttl
        self.id = ""
        self.lost = asyncio.Event()
        self.lost_reason: BaseException | None = None
        self.expires_at: datetime.datetime | None = None
        self._ended: str | None = None
        self._leases: weakref.WeakSet[AsyncLease] = weakref.WeakSet()
        self._renew_after_ms = 0
        self._deadline = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _open(self) -> None:
        sent = time.monotonic()
        res = await self.client._call(create_session, SessionResult, body=CreateSessionRequest(ttl_seconds=self.ttl))
        self.id = res.session_id
        self.expires_at = res.expires_at
        self._renew_after_ms = res.renew_after_ms
        self._deadline = _core.session_deadline(sent, res.renew_after_ms)
        self._task = asyncio.get_running_loop().create_task(self._keep_alive(), name=f"octostore-session-{self.id[:12]}")

    def lock(
        self, name: str, *, wait: float | None = None, metadata: str | None = None, lock_delay: int | None = None
    ) -> _Acquiring:
        """`AsyncClient.lock` through the session: the lease is bound to it."""
        spec = self._spec(metadata, lock_delay)
        return _Acquiring(lambda: self.client._lock(name, spec, wait))

    async def try_lock(self, name: str, *, metadata: str | None = None, lock_delay: int | None = None) -> AsyncLease | None:
        """`AsyncClient.try_lock` through the session."""
        got = await self.acquire(name, metadata=metadata, lock_delay=lock_delay)
        return got if isinstance(got, AsyncLease) else None

    async def acquire(self, name: str, *, metadata: str | None = None, lock_delay: int | None = None) -> AsyncLease | Held:
        """`AsyncClient.acquire` through the session."""
        return await self.client._acquire(name, self._spec(metadata, lock_delay), 0)

    def semaphore(self, name: str, n: int) -> AsyncSemaphore:
        """`AsyncClient.semaphore` through the session."""
        return AsyncSemaphore(self, name, n)

    async def close(self) -> None:
        """Stops the keep-alive and deletes the session (releasing its locks); at once,
        without a request, after a loss, an orphan or an earlier close."""
        await self._halt()
        if self._ended is not None:
            return
        self._ended = "closed"
        for lease in list(self._leases):
            lease._end_with_session()
        with contextlib.suppress(errors.SessionNotFound):
            await self.client._call(delete_session, type(None), self.id)

    async def orphan(self) -> None:
        """Stops the keep-alive without deleting the session; its leases are marked lost."""
        await self._halt()
        if self._ended is not None:
            return
        self._ended = "orphaned"
        why = errors.SessionEnded(self.id, "orphaned")
        for lease in list(self._leases):
            lease._mark_lost(why)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            try:
                await self.close()
            except errors.OctoStoreError as e:
                exc.add_note(f"octostore: closing session {self.id} on exit failed: {e}")
            return
        if self.lost.is_set():
            raise errors.SessionLost(self.id, self.lost_reason) from self.lost_reason
        await self.close()

    def _spec(self, metadata: str | None, lock_delay: int | None) -> _core.Spec:
        return _core.Spec(self.ttl, metadata, False, lock_delay, None, self)

    def _check_open(self) -> None:
        if self._ended in ("closed", "orphaned"):
            raise errors.SessionEnded(self.id, self._ended)

    def _bind(self, lease: AsyncLease) -> None:
        if self._ended is None:
            self._leases.add(lease)
        elif self._ended == "lost":
            lease._mark_lost(self.lost_reason or errors.SessionEnded(self.id, "lost"))

    async def _halt(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _lose(self, reason: BaseException) -> None:
        if self._ended is not None:
            return
        self._ended = "lost"
        self.lost_reason = reason
        self.lost.set()
        for lease in list(self._leases):
            lease._mark_lost(reason)
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()  # nothing is left to keep alive

    async def _keep_alive(self) -> None:
        delay = max(self._renew_after_ms / 1000.0, 0.01)
        failed: BaseException | None = None
        while True:
            deadline = self._deadline
            until = deadline - time.monotonic()
            if until <= 0:
                self._lose(failed or errors.TransportError(f"session {self.id}: no renewal succeeded in time"))
                return
            await asyncio.sleep(min(delay, until))
            if time.monotonic() >= deadline:
                continue
            sent = time.monotonic()
            try:
                res = await self.client._call(renew_session, SessionResult, self.id, deadline=deadline)
            except errors.SessionNotFound as e:
                self._lose(e)
                return
            except errors.OctoStoreError as e:
                failed = e
                delay = max(min(1.0, (deadline - time.monotonic()) / 3), 0.01)
                if isinstance(e, errors.ProblemError) and e.retry_after is not None:
                    delay = min(delay, max(e.retry_after, 0.01))
                continue
            failed = None
            self._deadline = max(self._deadline, _core.session_deadline(sent, res.renew_after_ms))
            if self.expires_at is None or res.expires_at > self.expires_at:
                self.expires_at = res.expires_at
            self._renew_after_ms = res.renew_after_ms
            delay = max(res.renew_after_ms / 1000.0, 0.01)
