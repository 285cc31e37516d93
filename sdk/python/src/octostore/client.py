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
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> Lease | None:
        """Takes the lock if it is free (one attempt) and returns the lease, or None when
        someone else holds it (see `acquire` for who). Taking a lock this client already
        holds returns the same lease and fencing token."""
        got = self.acquire(name, ttl, metadata=metadata, auto_renew=auto_renew, lock_delay=lock_delay)
        return got if isinstance(got, Lease) else None

    def acquire(
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> Lease | Held:
        """One acquire attempt: the lease, or a `Held` value naming the holder, when its
        lease ends and when trying again is worthwhile. Never raises for a held lock.

        `lock_delay` (seconds, 0 to 60) keeps the lock from everyone for that long after
        this lease *expires* (not after a release), so a holder that stalled past its
        lease has time to notice before anyone else starts; during the delay a `Held`
        answer has `holder_id` None and `available_at` set."""
        return self._acquire(name, _core.Spec(ttl, metadata, auto_renew, lock_delay), 0)

    def lock(
        self,
        name: str,
        ttl: int = DEFAULT_TTL,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> Lease:
        """Waits in line for the lock (at most `wait` seconds; None waits for ever) and
        returns the lease, renewing itself in the background unless `auto_renew` is off.

        Use it as a context manager to release on exit::

            with client.lock("nightly-report") as lease:
                write(report, fencing_token=lease.fencing_token)

        Raises LockTimeout when the wait ends first (`wait=0` is a single attempt). A
        lock-delay (see `acquire`) is waited out like a holder.
        """
        return self._lock(name, _core.Spec(ttl, metadata, auto_renew, lock_delay), wait)

    def semaphore(self, name: str, n: int) -> Semaphore:
        """A semaphore of `n` holders (1 to 64) on the lock `name`: up to `n` distinct
        holders hold it at once, each with a lease and fencing token of its own::

            with client.semaphore("encoders", 3).lock(wait=30) as slot:
                encode(fencing_token=slot.fencing_token)

        Every holder and waiter of a lock must use the same `n` (MaxHoldersMismatch)."""
        return Semaphore(self, name, n)

    def session(self, ttl: int = DEFAULT_TTL) -> Session:
        """Creates a session of `ttl` seconds (1 to 3600) and keeps it alive on a
        background thread; locks taken through it are bound to it. See `Session`."""
        return Session(self, ttl)

    def prefix_index(self, prefix: str) -> int:
        """The index to watch `prefix` from with `watch_prefix`: every change under the
        prefix so far is at or below it."""
        page = self._call(list_locks, LockList, prefix=prefix, limit=1)
        index = _core.opt(page.index)
        if index is None:
            raise errors.ProtocolError("prefix list without index")
        return int(index)

    def watch_prefix(
        self, prefix: str, index: int, *, timeout: float | None = None, poll_wait: int = _core.MAX_WAIT_SECONDS
    ) -> Iterator[PrefixChanges]:
        """Follows every change of the locks whose names start with `prefix` after
        `index`, yielding each answer that has changes (or is not `complete`), until
        `timeout` seconds pass (None: for ever) or you stop iterating::

            for answer in client.watch_prefix("jobs.", client.prefix_index("jobs.")):
                for lock in answer.changes:
                    print(lock.name, lock.status)

        Index 0 starts with every lock the server knows under the prefix. The watch comes
        back with each answer's index, so it misses no change (a lock that changed several
        times between two answers is reported once, as it is now). 429 and 503 answers
        are waited out; other errors raise."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            wait = min(max(1, poll_wait), _core.wait_chunk(remaining))
            try:
                page = self._call(list_locks, LockList, prefix=prefix, index=index, wait_seconds=wait, extra=wait)
            except (errors.RateLimited, errors.Unavailable) as e:
                delay = e.retry_after if e.retry_after is not None else 1.0
                left = None if deadline is None else deadline - time.monotonic()
                time.sleep(max(0.05, delay if left is None else min(delay, left)))
                continue
            answer = _core.to_changes(page)
            if answer.changes or not answer.complete:
                yield answer
            elif wait == 0:
                return  # less than a second was left: that was the last look
            index = max(index, answer.index)

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

    def _acquire(self, name: str, spec: _core.Spec, wait: int) -> Lease | Held:
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
            res = self._call(acquire_lock, AcquireResult, name, body=body, extra=wait)
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
            return Lease(self, name, ttl, res, spec.metadata, received, spec.auto_renew, session)
        return _core.to_held(name, res)

    def _lock(self, name: str, spec: _core.Spec, wait: float | None) -> Lease:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            got = self._acquire(name, spec, _core.wait_chunk(remaining))
            if isinstance(got, Lease):
                return got
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise errors.LockTimeout(name, wait or 0.0)
            # Held before the wait was over: a server without blocking acquire, or a
            # shorter wait chunk. Back off as the server suggests and ask again.
            delay = _core.retry_delay(got.retry_after_ms)
            time.sleep(delay if left is None else min(delay, left))


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

    A lease taken through a `Session` (`session` is set) has no TTL of its own and no
    renew thread: the session keeps it, and `lost` is set when the session is lost or
    orphaned.
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
        session: Session | None = None,
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
        #: The session the lease is bound to, if any.
        self.session = session
        with _LIVE_MU:
            _LIVE.add(self)
        if session is not None:
            session._bind(self)
        elif auto_renew:
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

    def _end_with_session(self) -> None:
        """The session was closed: the server released this lease with it."""
        self._stop.set()
        self._released = True
        with _LIVE_MU:
            _LIVE.discard(self)

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
        """The current leader, or None when nobody leads: the lock is free, or a lock-delay
        keeps it after the leader's lease expired (held by nobody until `available_at`)."""
        return _core.to_leader(self._client.status(self.name))

    def observe(self, *, timeout: float | None = None, poll_wait: int = 30) -> Iterator[Leader | None]:
        """Yields the current leader (or None), then each change of leader or value,
        until `timeout` seconds pass (None: for ever). None means nobody leads, also
        while a lock-delay keeps the lock. Built on watch: no change between two yields
        is missed, though several may arrive as one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        state = self._client.status(self.name)
        last = _core.leader_key(state)
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
            key = _core.leader_key(state)
            if key != last:
                last = key
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


class Semaphore:
    """A lock that up to `n` distinct holders hold at once (Consul's semaphore), made by
    `Client.semaphore` or `Session.semaphore`. Each holder gets a `Lease` of its own,
    with its own fencing token; the forms and defaults are those of `Client.lock`,
    `try_lock` and `acquire`, sending `max_holders`."""

    def __init__(self, via: Client | Session, name: str, n: int) -> None:
        _core.check_holders(n)
        self.name = name
        self.n = n
        self._via = via

    def _spec(self, ttl: int, metadata: str | None, auto_renew: bool, lock_delay: int | None) -> tuple[Client, _core.Spec]:
        if isinstance(self._via, Session):
            sess = self._via
            return sess.client, _core.Spec(sess.ttl, metadata, False, lock_delay, self.n, sess)
        return self._via, _core.Spec(ttl, metadata, auto_renew, lock_delay, self.n)

    def acquire(
        self,
        ttl: int = DEFAULT_TTL,
        *,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> Lease | Held:
        """One attempt: a lease, or a `Held` value (of the holder with the lowest token)
        when all `n` places are taken. Through a session, `ttl` and `auto_renew` do not
        apply."""
        client, spec = self._spec(ttl, metadata, auto_renew, lock_delay)
        return client._acquire(self.name, spec, 0)

    def try_lock(
        self,
        ttl: int = DEFAULT_TTL,
        *,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> Lease | None:
        """One attempt: a lease, or None when all `n` places are taken."""
        got = self.acquire(ttl, metadata=metadata, auto_renew=auto_renew, lock_delay=lock_delay)
        return got if isinstance(got, Lease) else None

    def lock(
        self,
        ttl: int = DEFAULT_TTL,
        *,
        wait: float | None = None,
        metadata: str | None = None,
        auto_renew: bool = True,
        lock_delay: int | None = None,
    ) -> Lease:
        """Waits in line for a place (at most `wait` seconds; None for ever); raises
        LockTimeout when the wait ends first."""
        client, spec = self._spec(ttl, metadata, auto_renew, lock_delay)
        return client._lock(self.name, spec, wait)


class Session:
    """A lease on this process's liveness that many locks share, modelled on etcd's
    `concurrency.Session`. Made by `Client.session(ttl)`: it is created on the server and
    renewed on a background thread at the server's `renew_after_ms`.

    Locks and semaphores taken through it (`lock`, `try_lock`, `acquire`, `semaphore`)
    send its `session_id` and no TTL, are not renewed on their own, and end exactly when
    the session ends::

        with client.session(ttl=10) as session:
            with session.lock("leader", lock_delay=10) as lease:
                serve(fencing_token=lease.fencing_token)

    `lost` (a `threading.Event`) is the loss signal: set when the server no longer knows
    the session (`session_not_found`, heard by a renewal or by an acquire through the
    session, which then raises `SessionNotFound` unretried), or when no renewal
    succeeded before three of the server's `renew_after_ms` had passed since the last
    one was sent (the session would have expired); every lock bound to it is gone then,
    and `lost_reason` says why. It is not set by `close` or `orphan`. As with any lease, a stalled process learns of the
    loss only when it next runs: pass the locks' fencing tokens to what they protect.

    `close()` (also the end of a `with` block) stops the keep-alive and deletes the
    session, which releases every lock bound to it at once, with no lock-delay.
    `orphan()` only stops the keep-alive, as a killed process would: the server ends the
    session, and its locks, one TTL later, and their lock-delays apply then.
    """

    def __init__(self, client: Client, ttl: int = DEFAULT_TTL) -> None:
        self.client = client
        self.ttl = ttl
        sent = time.monotonic()
        res = client._call(create_session, SessionResult, body=CreateSessionRequest(ttl_seconds=ttl))
        #: The session's id, for acquires made without this helper (`session_id`).
        self.id: str = res.session_id
        #: Set when the session was lost (not on close or orphan); `lost_reason` says why.
        self.lost = threading.Event()
        self.lost_reason: BaseException | None = None
        self._mu = threading.Lock()
        self._ended: str | None = None  # "lost", "closed" or "orphaned"
        self._leases: weakref.WeakSet[Lease] = weakref.WeakSet()
        self._expires_at: datetime.datetime = res.expires_at
        self._renew_after_ms: int = res.renew_after_ms
        self._deadline = _core.session_deadline(sent, res.renew_after_ms)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_alive, name=f"octostore-session-{self.id[:12]}", daemon=True)
        self._thread.start()

    @property
    def expires_at(self) -> datetime.datetime:
        """When the server ends the session unless it is renewed, as of the latest renewal."""
        with self._mu:
            return self._expires_at

    def lock(
        self, name: str, *, wait: float | None = None, metadata: str | None = None, lock_delay: int | None = None
    ) -> Lease:
        """`Client.lock` through the session: the lease is bound to it."""
        return self.client._lock(name, self._spec(metadata, lock_delay), wait)

    def try_lock(self, name: str, *, metadata: str | None = None, lock_delay: int | None = None) -> Lease | None:
        """`Client.try_lock` through the session: the lease, or None when held."""
        got = self.acquire(name, metadata=metadata, lock_delay=lock_delay)
        return got if isinstance(got, Lease) else None

    def acquire(self, name: str, *, metadata: str | None = None, lock_delay: int | None = None) -> Lease | Held:
        """`Client.acquire` through the session: the lease, or a `Held` value."""
        return self.client._acquire(name, self._spec(metadata, lock_delay), 0)

    def semaphore(self, name: str, n: int) -> Semaphore:
        """`Client.semaphore` through the session: its leases are bound to it."""
        return Semaphore(self, name, n)

    def close(self) -> None:
        """Stops the keep-alive and deletes the session on the server, releasing every
        lock bound to it. After a loss, an orphan or an earlier close it returns at once
        without a request; a session the server already forgot counts as closed. Raises
        for other failures of the delete (the server then ends it one TTL later)."""
        self._halt()
        with self._mu:
            if self._ended is not None:
                return
            self._ended = "closed"
            leases = list(self._leases)
        for lease in leases:
            lease._end_with_session()
        try:
            self.client._call(delete_session, type(None), self.id)
        except errors.SessionNotFound:
            pass

    def orphan(self) -> None:
        """Stops the keep-alive without deleting the session (etcd's `Session.Orphan`):
        the server ends it, and its locks, one TTL after the last renewal. The leases
        bound to it are marked lost at once, since nothing keeps them any more."""
        self._halt()
        with self._mu:
            if self._ended is not None:
                return
            self._ended = "orphaned"
            leases = list(self._leases)
        why = errors.SessionEnded(self.id, "orphaned")
        for lease in leases:
            lease._mark_lost(why)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            try:
                self.close()
            except errors.OctoStoreError as e:
                exc.add_note(f"octostore: closing session {self.id} on exit failed: {e}")
            return
        if self.lost.is_set():
            raise errors.SessionLost(self.id, self.lost_reason) from self.lost_reason
        self.close()

    def _spec(self, metadata: str | None, lock_delay: int | None) -> _core.Spec:
        return _core.Spec(self.ttl, metadata, False, lock_delay, None, self)

    def _check_open(self) -> None:
        # A lost session is still asked about: the server says session_not_found.
        with self._mu:
            ended = self._ended
        if ended in ("closed", "orphaned"):
            raise errors.SessionEnded(self.id, ended)

    def _bind(self, lease: Lease) -> None:
        with self._mu:
            ended = self._ended
            if ended is None:
                self._leases.add(lease)
        if ended == "lost":
            lease._mark_lost(self.lost_reason or errors.SessionEnded(self.id, "lost"))

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _lose(self, reason: BaseException) -> None:
        with self._mu:
            if self._ended is not None:
                return
            self._ended = "lost"
            self.lost_reason = reason
            leases = list(self._leases)
        self._stop.set()  # nothing is left to keep alive
        self.lost.set()
        for lease in leases:
            lease._mark_lost(reason)

    def _keep_alive(self) -> None:
        """Renews at the server's renew_after_ms, sooner after a failure; the session is
        lost when the server no longer knows it or the local deadline passes first."""
        with self._mu:
            delay = max(self._renew_after_ms / 1000.0, 0.01)
        failed: BaseException | None = None
        while True:
            with self._mu:
                deadline = self._deadline
            until = deadline - time.monotonic()
            if until <= 0:
                self._lose(failed or errors.TransportError(f"session {self.id}: no renewal succeeded in time"))
                return
            if self._stop.wait(min(delay, until)):
                return
            if time.monotonic() >= deadline:
                continue  # the top of the loop ends it
            sent = time.monotonic()
            try:
                res = self.client._call(renew_session, SessionResult, self.id, deadline=deadline)
            except errors.SessionNotFound as e:
                if not self._stop.is_set():
                    self._lose(e)
                return
            except errors.OctoStoreError as e:
                if self._stop.is_set():
                    return
                failed = e
                delay = max(min(1.0, (deadline - time.monotonic()) / 3), 0.01)
                retry_after = getattr(e, "retry_after", None)
                if retry_after is not None:
                    delay = min(delay, max(retry_after, 0.01))
                continue
            failed = None
            with self._mu:
                self._deadline = max(self._deadline, _core.session_deadline(sent, res.renew_after_ms))
                self._expires_at = max(self._expires_at, res.expires_at)
                self._renew_after_ms = res.renew_after_ms
                delay = max(res.renew_after_ms / 1000.0, 0.01)
