"""The synchronous client: locks as context managers that renew themselves, and elections."""

from __future__ import annotations

import datetime
import os
import signal
import ssl
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

import httpx

from . import _core, errors
from ._core import Held, Leader, LockState
from .openapi.api.locks import (
    acquire_lock,
    get_lock,
    list_locks,
    release_lock,
    renew_lock,
)
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

T = TypeVar("T")

#: Default TTL of a lock and of an election's leadership (seconds).
DEFAULT_TTL = 15
#: Default bound of one request (seconds).
DEFAULT_TIMEOUT = 10.0

#: Every lease still held in this process, for `release_on_signals`.
_LIVE: weakref.WeakSet[Lease] = weakref.WeakSet()
_LIVE_MU = threading.Lock()


class Client:
    """An OctoStore client for one token.

    `base_url` is one base URL or a list of them: a request that meets a transport error
    or a 503 moves on to the next one (and the client keeps using the one that answered).

    `owner` names this helper among others sharing the token. By default it is unique to
    the client, `<host>-<pid>-<8 random hex>`, so two processes (or two clients) sharing a
    token are two holders that exclude each other; set it to something stable per process
    to make a retried acquire idempotent across clients. Read it back from `client.owner`.

    `timeout` (default 10 s) bounds every request; long-polls (blocking lock, watch) get
    their wait on top, and a lease's renewals are also bounded by what is left of the
    lease. The client is thread-safe; close it (or use it as a context manager) to free
    its connections.

    `verify` checks the server's TLS certificate (default True: the system's CAs). For a
    server whose certificate comes from a private CA, pass
    `ssl.create_default_context(cafile="ca.pem")`. `httpx_args` go to the httpx client.
    """

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
        """The generated client (`octostore.openapi`) for the base URL in use, for calls
        the helpers do not cover."""
        return self._apis[self._current]

    def try_lock(
        self, name: str, ttl: int = DEFAULT_TTL, *, metadata: str | None = None, auto_renew: bool = True
    ) -> Lease | None:
        """Takes the lock if it is free (one attempt) and returns the lease, or None when
        someone else holds it (see `acquire` for who). Taking a lock this client already
        holds returns the same lease and fencing token."""
        got = self.acquire(name, ttl, metadata=metadata, auto_renew=auto_renew)
        return got if isinstance(got, Lease) else None

    def acquire(
        self, name: str, ttl: int = DEFAULT_TTL, *, metadata: str | None = None, auto_renew: bool = True
    ) -> Lease | Held:
        """One acquire attempt: the lease, or a `Held` value naming the holder, when its
        lease ends and when trying again is worthwhile. Never raises for a held lock."""
        return self._acquire(name, ttl, 0, metadata, auto_renew)

    def lock(
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
    ) -> Lease:
        """Waits in line for the lock (at most `wait` seconds; None waits for ever) and
        returns the lease, renewing itself in the background unless `auto_renew` is off.

        Use it as a context manager to release on exit::

            with client.lock("nightly-report") as lease:
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
        _core.check_name(name)
        return _core.to_state(self._call(get_lock, LockStatus, name))

    def watch(self, name: str, index: int, wait: int = 30) -> LockState:
        """Waits (at most `wait` seconds, up to 60) until the lock's revision exceeds
        `index` and returns the state then; after the wait, the unchanged state. Pass the
        last revision you saw and no change is ever missed."""
        _core.check_name(name)
        s = self._call(get_lock, LockStatus, name, index=index, wait_seconds=wait, extra=wait)
        return _core.to_state(s)

    def list(self) -> list[LockState]:
        """The account's active locks, by name: every page the server hands out (at most
        1000 locks each), up to a million locks."""
        out: list[LockState] = []
        cursor: str | None = None
        for _ in range(_core.MAX_LIST_PAGES):
            page: dict[str, Any] = {"limit": _core.MAX_LIST_PAGE}
            if cursor is not None:
                page["cursor"] = cursor
            res = self._call(list_locks, LockList, **page)
            out.extend(_core.to_state(s) for s in res.locks)
            cursor = _core.next_cursor(res)
            if cursor is None:
                break
        return out

    def election(self, name: str, ttl: int = DEFAULT_TTL) -> Election:
        """An election on the lock `name`; leaders hold it with a `ttl`-second lease."""
        return Election(self, name, ttl)

    def close(self) -> None:
        """Closes the connections. Leases keep their renew threads until released."""
        for c in self._apis:
            c.get_httpx_client().close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self,
        module: ModuleType,
        expected: type[T],
        *args: Any,
        extra: float = 0.0,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> T:
        """One request through the generated `module`, on the base URL in use, moving on
        to the next one after a transport error or a 503. Each attempt is bounded by
        `timeout` (+ `extra` for a long-poll) and by the monotonic `deadline`, if any."""
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
                res = _core.send(module, expected, *args, client=self._apis[i], timeout=t, url=self.base_urls[i], **kwargs)
            except (errors.TransportError, errors.Unavailable) as e:
                last = e
                continue
            self._current = i
            return res
        if last is None:
            raise errors.TransportError(f"{self.base_urls[start]}: no time left for the request")
        raise last

    def _acquire(
        self, name: str, ttl: int, wait: int, metadata: str | None, auto_renew: bool
    ) -> Lease | Held:
        _core.check_name(name)
        body = _core.acquire_body(ttl, self.owner, wait, metadata)
        res = self._call(acquire_lock, AcquireResult, name, body=body, extra=wait)
        received = time.monotonic()
        if res.status == AcquireResultStatus.ACQUIRED:
            if _core.opt(res.lease_id) is None or _core.opt(res.fencing_token) is None:
                raise errors.ProtocolError("acquired without lease_id or fencing_token")
            return Lease(self, name, ttl, res, metadata, received, auto_renew)
        return Held(name, _core.opt(res.holder_id), res.expires_at, _core.opt(res.retry_after_ms))


class Lease:
    """A held lock. It renews itself in a background thread (unless created with
    `auto_renew=False`) at the server's `renew_after_ms`.

    A lease is not a guarantee: a process can stall past its TTL and still believe it
    holds the lock. Send `fencing_token` with every write to the resource you protect and
    have the resource refuse tokens smaller than the largest it has seen. `lost` is set
    when the lease ends without you releasing it (a renewal was refused, or failed until
    the lease ran out by its own count); stop working on the resource when it is set.

    As a context manager it releases on exit. The block's own exception always comes out
    (a failing release is attached to it as a note); a block that ends normally after
    the lease was lost raises LockLost.
    """

    def __init__(
        self,
        client: Client,
        name: str,
        ttl: int,
        res: AcquireResult,
        metadata: str | None,
        received: float,
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
        # The lease's end by our own clock, from the grant as the server reported it.
        self._deadline = received + _core.lease_left(self._renew_after_ms, ttl)
        self._stop = threading.Event()
        self._released = False
        self._thread: threading.Thread | None = None
        with _LIVE_MU:
            _LIVE.add(self)
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
        """Stops renewing and gives the lock back. Always asks the server: raises
        LeaseNotCurrent when the lease had already ended (expired, released, or lost)."""
        self._stop.set()
        try:
            self._client._call(
                release_lock, ReleaseResult, self.name, body=ReleaseRequest(lease_id=uuid.UUID(self.lease_id))
            )
        finally:
            self._released = True
            with _LIVE_MU:
                _LIVE.discard(self)

    def close(self) -> None:
        """Stops renewing and releases the lock if it is still held; never raises. After
        a loss (or a release) it returns at once without a request."""
        self._stop.set()
        if self._released or self.lost.is_set():
            with _LIVE_MU:
                _LIVE.discard(self)
            return
        try:
            self.release()
        except errors.OctoStoreError:
            pass

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            # The block's error surfaces whatever the release does.
            if self.lost.is_set():
                self.close()
                exc.add_note(f"octostore: the lease on {self.name!r} was lost: {self.lost_reason}")
                return
            try:
                self.release()
            except errors.OctoStoreError as e:
                exc.add_note(f"octostore: releasing {self.name!r} on exit failed: {e}")
            return
        if self.lost.is_set():
            self.close()
            raise errors.LockLost(self.name, self.lost_reason) from self.lost_reason
        try:
            self.release()
        except errors.LeaseNotCurrent as e:
            self._mark_lost(e)
            raise errors.LockLost(self.name, e) from e

    def _renew_now(self, ttl: int, deadline: float | None = None) -> None:
        res = self._client._call(
            renew_lock,
            RenewResult,
            self.name,
            body=RenewRequest(lease_id=uuid.UUID(self.lease_id), ttl_seconds=ttl),
            deadline=deadline,
        )
        received = time.monotonic()
        with self._mu:
            self._expires_at = max(self._expires_at, res.expires_at)
            self._renew_after_ms = _core.opt(res.renew_after_ms)
            self._deadline = max(self._deadline, received + _core.lease_left(self._renew_after_ms, ttl))

    def _mark_lost(self, reason: BaseException) -> None:
        self._stop.set()
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()
        with _LIVE_MU:
            _LIVE.discard(self)

    def _renew_loop(self) -> None:
        delay = _core.renew_delay(self.renew_after_ms, self.ttl)
        failed: BaseException | None = None
        while not self._stop.wait(delay):
            with self._mu:
                deadline = self._deadline
            if deadline - time.monotonic() <= 0:
                self._mark_lost(
                    failed or errors.TransportError(f"lease on {self.name!r} ran out before a renewal succeeded")
                )
                return
            try:
                # Bounded by what is left of the lease: a stalled server cannot hold the
                # loss signal back past the lease's end.
                self._renew_now(self.ttl, deadline)
                delay = _core.renew_delay(self.renew_after_ms, self.ttl)
                failed = None
            except _TRANSIENT as e:
                failed = e
                left = deadline - time.monotonic()
                if left <= 0:
                    if not self._stop.is_set():
                        self._mark_lost(e)
                    return
                delay = min(0.5, left)
            except errors.OctoStoreError as e:
                if not self._stop.is_set():
                    self._mark_lost(e)
                return


def release_on_signals(signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
    """Opt-in shutdown hook: on SIGTERM / SIGINT, release every lease this process still
    holds (elections' leaderships included, which resigns them), then hand the signal on
    to the handler that was installed before (for SIGINT, KeyboardInterrupt; for a
    default SIGTERM, the process ends as it would have). Call it from the main thread."""
    for sig in signals:
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            release_all()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_IGN:
                return
            else:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        signal.signal(sig, handler)


def release_all() -> None:
    """Releases every lease this process still holds (ignoring errors)."""
    with _LIVE_MU:
        leases = list(_LIVE)
    for lease in leases:
        lease.close()


class Election:
    """Leader election on one lock, modelled on etcd's `concurrency.Election`.

    The leader holds the lock and publishes a value (its address, say) as the lock's
    metadata; everyone else can read or observe it. Leadership renews itself until
    `resign`, and `lease.lost` tells the leader it was deposed.
    """

    def __init__(self, client: Client, name: str, ttl: int = DEFAULT_TTL) -> None:
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

    @property
    def owner(self) -> str:
        """The owner this election's client sends (its holder name with the token)."""
        return self._client.owner

    def resign(self) -> None:
        """Gives up leadership (releases the lock) if this election holds it."""
        lease, self.lease = self.lease, None
        if lease is not None:
            lease.release()


def _key(s: LockState) -> tuple[Any, ...]:
    return (s.held, s.fencing_token, s.metadata)
