"""The asyncio client: the same helpers as `octostore.Client`, awaitable.

async with AsyncClient(url, token) as client:
    async with client.lock("nightly-report", ttl=30) as lease:
        await write(report, fencing_token=lease.fencing_token)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any

import httpx

from . import _core, errors
from ._core import Leader, LockState
from .openapi.api.locks import acquire_lock, get_lock, list_locks, release_lock, renew_lock
from .openapi.client import AuthenticatedClient
from .openapi.models.acquire_result import AcquireResult
from .openapi.models.acquire_result_status import AcquireResultStatus
from .openapi.models.lock_list import LockList
from .openapi.models.lock_status import LockStatus
from .openapi.models.release_request import ReleaseRequest
from .openapi.models.release_result import ReleaseResult
from .openapi.models.renew_request import RenewRequest
from .openapi.models.renew_result import RenewResult

_TRANSIENT = (errors.TransportError, errors.Unavailable, errors.RateLimited, errors.ServerError, errors.ProtocolError)


class AsyncClient:
    """The asyncio counterpart of `octostore.Client` (same arguments, same behaviour)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        owner: str | None = None,
        timeout: float = 10.0,
        httpx_args: dict[str, Any] | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        args = dict(httpx_args or {})
        self.owner = owner
        self._api = AuthenticatedClient(base_url=base, token=token, timeout=httpx.Timeout(timeout), httpx_args=args)
        poll = httpx.Timeout(timeout, read=_core.MAX_WAIT_SECONDS + _core.POLL_SLACK_SECONDS)
        self._poll = AuthenticatedClient(base_url=base, token=token, timeout=poll, httpx_args=args)

    @property
    def raw(self) -> AuthenticatedClient:
        """The generated client (`octostore.openapi`), for calls the helpers do not cover."""
        return self._api

    async def try_lock(
        self, name: str, ttl: int = 30, *, metadata: str | None = None, auto_renew: bool = True
    ) -> AsyncLease:
        """One attempt; raises LockHeld when someone else has the lock."""
        got = await self._acquire(name, ttl, 0, metadata, auto_renew)
        if isinstance(got, errors.LockHeld):
            raise got
        return got

    def lock(
        self,
        name: str,
        ttl: int = 30,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
    ) -> _Acquiring:
        """Waits in line for the lock (at most `wait` seconds; None for ever). Await it for
        the lease, or use it directly as `async with client.lock(...) as lease:`, which
        releases on exit. Raises LockTimeout when the wait ends first."""
        return _Acquiring(lambda: self._lock(name, ttl, wait, metadata, auto_renew))

    async def status(self, name: str) -> LockState:
        """The lock's current state."""
        return _core.to_state(await _core.acall(get_lock.asyncio_detailed, LockStatus, name, client=self._api))

    async def watch(self, name: str, index: int, wait: int = 30) -> LockState:
        """Returns once the lock's revision exceeds `index`, or after `wait` seconds."""
        s = await _core.acall(
            get_lock.asyncio_detailed, LockStatus, name, client=self._poll, index=index, wait_seconds=wait
        )
        return _core.to_state(s)

    async def list(self) -> list[LockState]:
        """The account's active locks, by name."""
        res = await _core.acall(list_locks.asyncio_detailed, LockList, client=self._api)
        return [_core.to_state(s) for s in res.locks]

    def election(self, name: str, ttl: int = 15) -> AsyncElection:
        """An election on the lock `name`."""
        return AsyncElection(self, name, ttl)

    async def aclose(self) -> None:
        """Closes the connections."""
        for c in (self._api, self._poll):
            await c.get_async_httpx_client().aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _lock(
        self, name: str, ttl: int, wait: float | None, metadata: str | None, auto_renew: bool
    ) -> AsyncLease:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            got = await self._acquire(name, ttl, _core.wait_chunk(remaining), metadata, auto_renew)
            if isinstance(got, AsyncLease):
                return got
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise errors.LockTimeout(name, wait or 0.0)
            delay = _core.retry_delay(got.retry_after_ms)
            await asyncio.sleep(delay if left is None else min(delay, left))

    async def _acquire(
        self, name: str, ttl: int, wait: int, metadata: str | None, auto_renew: bool
    ) -> AsyncLease | errors.LockHeld:
        sent = time.monotonic()
        body = _core.acquire_body(ttl, self.owner, wait, metadata)
        res = await _core.acall(
            acquire_lock.asyncio_detailed, AcquireResult, name, client=self._poll if wait else self._api, body=body
        )
        if res.status == AcquireResultStatus.ACQUIRED:
            if _core.opt(res.lease_id) is None or _core.opt(res.fencing_token) is None:
                raise errors.ProtocolError("acquired without lease_id or fencing_token")
            return AsyncLease(self, name, ttl, res, metadata, sent, auto_renew)
        return errors.LockHeld(name, _core.opt(res.holder_id), res.expires_at, _core.opt(res.retry_after_ms))


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
    """A held lock renewing itself in an asyncio task; see `octostore.Lease`.

    `lost` is an asyncio.Event set when the lease ends without you releasing it.
    """

    def __init__(
        self,
        client: AsyncClient,
        name: str,
        ttl: int,
        res: AcquireResult,
        metadata: str | None,
        sent: float,
        auto_renew: bool,
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
        self._deadline = sent + ttl
        self._task: asyncio.Task[None] | None = None
        if auto_renew:
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
        """Stops renewing and gives the lock back; LeaseNotCurrent if it had ended."""
        await self._stop()
        await _core.acall(
            release_lock.asyncio_detailed,
            ReleaseResult,
            self.name,
            client=self._client._api,
            body=ReleaseRequest(lease_id=uuid.UUID(self.lease_id)),
        )

    async def __aenter__(self) -> AsyncLease:
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            await self.release()
        except errors.LeaseNotCurrent:
            pass
        except errors.OctoStoreError:
            if exc_type is None:
                raise

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _renew_now(self, ttl: int) -> None:
        sent = time.monotonic()
        res = await _core.acall(
            renew_lock.asyncio_detailed,
            RenewResult,
            self.name,
            client=self._client._api,
            body=RenewRequest(lease_id=uuid.UUID(self.lease_id), ttl_seconds=ttl),
        )
        self.expires_at = max(self.expires_at, res.expires_at)
        self.renew_after_ms = _core.opt(res.renew_after_ms)
        self._deadline = max(self._deadline, sent + ttl)

    def _mark_lost(self, reason: BaseException) -> None:
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    async def _renew_loop(self) -> None:
        delay = _core.renew_delay(self.renew_after_ms, self.ttl)
        while True:
            await asyncio.sleep(delay)
            try:
                await self._renew_now(self.ttl)
                delay = _core.renew_delay(self.renew_after_ms, self.ttl)
            except _TRANSIENT as e:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    self._mark_lost(e)
                    return
                delay = min(1.0, left / 2)
            except errors.OctoStoreError as e:
                self._mark_lost(e)
                return


class AsyncElection:
    """Leader election on one lock; see `octostore.Election`."""

    def __init__(self, client: AsyncClient, name: str, ttl: int = 15) -> None:
        self.name = name
        self.ttl = ttl
        self._client = client
        self.lease: AsyncLease | None = None

    async def campaign(self, value: str, *, wait: float | None = None) -> AsyncLease:
        """Becomes leader with `value` (waiting at most `wait` seconds)."""
        self.lease = await self._client.lock(self.name, self.ttl, wait=wait, metadata=value)
        return self.lease

    async def leader(self) -> Leader | None:
        """The current leader, or None."""
        return _core.to_leader(await self._client.status(self.name))

    async def observe(self, *, timeout: float | None = None, poll_wait: int = 30) -> AsyncIterator[Leader | None]:
        """Yields the current leader, then each change, until `timeout` seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        state = await self._client.status(self.name)
        last = (state.held, state.fencing_token, state.metadata)
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
            key = (state.held, state.fencing_token, state.metadata)
            if key != last:
                last = key
                yield _core.to_leader(state)

    async def resign(self) -> None:
        """Gives up leadership if this election holds it."""
        lease, self.lease = self.lease, None
        if lease is not None:
            await lease.release()
