"""The synchronous client: locks as context managers that renew themselves, and elections."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Iterator
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

#: Errors after which a renewal is retried until the lease's own expiry.
_TRANSIENT = (errors.TransportError, errors.Unavailable, errors.RateLimited, errors.ServerError, errors.ProtocolError)


class Client:
    """An OctoStore client for one token (one holder).

    `owner` names this process among others sharing the token (a host or pod name): each
    owner is a distinct holder. `timeout` bounds ordinary requests; long-polls (blocking
    lock, watch) get their wait plus a margin. The client is thread-safe; close it (or use
    it as a context manager) to free its connections.
    """

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

    def try_lock(self, name: str, ttl: int = 30, *, metadata: str | None = None, auto_renew: bool = True) -> Lease:
        """Takes the lock if it is free (one attempt) and returns the lease.

        Raises LockHeld (with the holder and its expiry) when someone else has it. Taking a
        lock this holder already holds returns the same lease and fencing token.
        """
        lease = self._acquire(name, ttl, 0, metadata, auto_renew)
        if isinstance(lease, errors.LockHeld):
            raise lease
        return lease

    def lock(
        self,
        name: str,
        ttl: int = 30,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
    ) -> Lease:
        """Waits in line for the lock (at most `wait` seconds; None waits for ever) and
        returns the lease, renewing itself in the background unless `auto_renew` is off.

        Use it as a context manager to release on exit::

            with client.lock("nightly-report", ttl=30) as lease:
                write(report, fencing_token=lease.fencing_token)

        Raises LockTimeout when the wait ends first (`wait=0` is a single attempt).
        """
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            got = self._acquire(name, ttl, _core.wait_chunk(remaining), metadata, auto_renew)
            if isinstance(got, Lease):
                return got
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise errors.LockTimeout(name, wait or 0.0)
            # Held before the wait was over: a server without blocking acquire, or a
            # shorter wait chunk. Back off as the server suggests and ask again.
            delay = _core.retry_delay(got.retry_after_ms)
            time.sleep(delay if left is None else min(delay, left))

    def status(self, name: str) -> LockState:
        """The lock's current state."""
        s = _core.call(get_lock.sync_detailed, LockStatus, name, client=self._api)
        return _core.to_state(s)

    def watch(self, name: str, index: int, wait: int = 30) -> LockState:
        """Waits (at most `wait` seconds, up to 60) until the lock's revision exceeds
        `index` and returns the state then; after the wait, the unchanged state. Pass the
        last revision you saw and no change is ever missed."""
        s = _core.call(get_lock.sync_detailed, LockStatus, name, client=self._poll, index=index, wait_seconds=wait)
        return _core.to_state(s)

    def list(self) -> list[LockState]:
        """The account's active locks, by name."""
        res = _core.call(list_locks.sync_detailed, LockList, client=self._api)
        return [_core.to_state(s) for s in res.locks]

    def election(self, name: str, ttl: int = 15) -> Election:
        """An election on the lock `name`; leaders hold it with a `ttl`-second lease."""
        return Election(self, name, ttl)

    def close(self) -> None:
        """Closes the connections. Leases keep their renew threads until released."""
        for c in (self._api, self._poll):
            c.get_httpx_client().close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire(
        self, name: str, ttl: int, wait: int, metadata: str | None, auto_renew: bool
    ) -> Lease | errors.LockHeld:
        sent = time.monotonic()
        body = _core.acquire_body(ttl, self.owner, wait, metadata)
        res = _core.call(
            acquire_lock.sync_detailed, AcquireResult, name, client=self._poll if wait else self._api, body=body
        )
        if res.status == AcquireResultStatus.ACQUIRED:
            if _core.opt(res.lease_id) is None or _core.opt(res.fencing_token) is None:
                raise errors.ProtocolError("acquired without lease_id or fencing_token")
            return Lease(self, name, ttl, res, metadata, sent, auto_renew)
        return errors.LockHeld(name, _core.opt(res.holder_id), res.expires_at, _core.opt(res.retry_after_ms))


class Lease:
    """A held lock. It renews itself in a background thread (unless created with
    `auto_renew=False`) at the server's `renew_after_ms`.

    A lease is not a guarantee: a process can stall past its TTL and still believe it
    holds the lock. Send `fencing_token` with every write to the resource you protect and
    have the resource refuse tokens smaller than the largest it has seen. `lost` is set
    when the lease ends without you releasing it (a renewal was refused, or failed until
    the lease ran out); stop working on the resource when it is set.
    """

    def __init__(
        self,
        client: Client,
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
        #: Set when the lease was lost; `lost_reason` says why.
        self.lost = threading.Event()
        self.lost_reason: BaseException | None = None
        self._client = client
        self._mu = threading.Lock()
        self._expires_at: datetime.datetime = res.expires_at
        self._renew_after_ms: int | None = _core.opt(res.renew_after_ms)
        self._deadline = sent + ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if auto_renew:
            self._thread = threading.Thread(target=self._renew_loop, name=f"octostore-renew-{name}", daemon=True)
            self._thread.start()

    @property
    def expires_at(self) -> datetime.datetime:
        """When the lease ends unless renewed, as the server last reported."""
        with self._mu:
            return self._expires_at

    @property
    def renew_after_ms(self) -> int | None:
        """The server's latest hint for the next renewal."""
        with self._mu:
            return self._renew_after_ms

    def renew(self, ttl: int | None = None) -> Lease:
        """Renews now (to `ttl` seconds, default the lease's TTL); raises LeaseNotCurrent
        (and sets `lost`) when the lease has already ended."""
        try:
            self._renew_now(self.ttl if ttl is None else ttl)
        except errors.LeaseNotCurrent as e:
            self._mark_lost(e)
            raise
        return self

    def release(self) -> None:
        """Stops renewing and gives the lock back. Raises LeaseNotCurrent when the lease
        had already ended (expired, released, or lost)."""
        self._stop.set()
        _core.call(
            release_lock.sync_detailed,
            ReleaseResult,
            self.name,
            client=self._client._api,
            body=ReleaseRequest(lease_id=uuid.UUID(self.lease_id)),
        )

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.release()
        except errors.LeaseNotCurrent:
            pass  # it ended already; `lost` says so
        except errors.OctoStoreError:
            if exc_type is None:
                raise

    def _renew_now(self, ttl: int) -> None:
        sent = time.monotonic()
        res = _core.call(
            renew_lock.sync_detailed,
            RenewResult,
            self.name,
            client=self._client._api,
            body=RenewRequest(lease_id=uuid.UUID(self.lease_id), ttl_seconds=ttl),
        )
        with self._mu:
            self._expires_at = max(self._expires_at, res.expires_at)
            self._renew_after_ms = _core.opt(res.renew_after_ms)
            self._deadline = max(self._deadline, sent + ttl)

    def _mark_lost(self, reason: BaseException) -> None:
        self._stop.set()
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    def _renew_loop(self) -> None:
        delay = _core.renew_delay(self.renew_after_ms, self.ttl)
        while not self._stop.wait(delay):
            try:
                self._renew_now(self.ttl)
                delay = _core.renew_delay(self.renew_after_ms, self.ttl)
            except _TRANSIENT as e:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    self._mark_lost(e)
                    return
                delay = min(1.0, left / 2)
            except errors.OctoStoreError as e:
                if not self._stop.is_set():
                    self._mark_lost(e)
                return


class Election:
    """Leader election on one lock, modelled on etcd's `concurrency.Election`.

    The leader holds the lock and publishes a value (its address, say) as the lock's
    metadata; everyone else can read or observe it. Leadership renews itself until
    `resign`, and `lease.lost` tells the leader it was deposed.
    """

    def __init__(self, client: Client, name: str, ttl: int = 15) -> None:
        self.name = name
        self.ttl = ttl
        self._client = client
        self.lease: Lease | None = None

    def campaign(self, value: str, *, wait: float | None = None) -> Lease:
        """Waits (at most `wait` seconds; None for ever) to become leader with `value`,
        and returns the leadership lease. Raises LockTimeout when the wait ends first."""
        self.lease = self._client.lock(self.name, self.ttl, wait=wait, metadata=value)
        return self.lease

    def leader(self) -> Leader | None:
        """The current leader, or None."""
        return _core.to_leader(self._client.status(self.name))

    def observe(self, *, timeout: float | None = None, poll_wait: int = 30) -> Iterator[Leader | None]:
        """Yields the current leader (or None), then each change of leader or value,
        until `timeout` seconds pass (None: for ever). Built on watch: no change between
        two yields is missed, though several may arrive as one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        state = self._client.status(self.name)
        last = _key(state)
        yield _core.to_leader(state)
        index = state.revision
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            wait = max(1, min(poll_wait, _core.wait_chunk(remaining)))
            started = time.monotonic()
            state = self._client.watch(self.name, index, wait)
            if state.revision <= index and time.monotonic() - started < wait * 0.9:
                time.sleep(_core.DEFAULT_RETRY_SECONDS)  # a server without watch: poll gently
            index = max(index, state.revision)
            if _key(state) != last:
                last = _key(state)
                yield _core.to_leader(state)

    def resign(self) -> None:
        """Gives up leadership (releases the lock) if this election holds it."""
        lease, self.lease = self.lease, None
        if lease is not None:
            lease.release()


def _key(s: LockState) -> tuple[Any, ...]:
    return (s.held, s.fencing_token, s.metadata)
