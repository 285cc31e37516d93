"""What the sync and async helpers share: result types, error translation, request bodies.

Every request goes through the generated client in `octostore.openapi`; this module only
turns its responses into the helper's types and exceptions.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import secrets
import socket
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

import httpx

from . import errors
from .openapi.models.acquire_request import AcquireRequest
from .openapi.models.lock_status import LockStatus
from .openapi.models.problem import Problem
from .openapi.types import UNSET, Response

T = TypeVar("T")

#: Longest wait the server accepts for one blocking request (seconds).
MAX_WAIT_SECONDS = 60
#: Extra read time allowed on top of a long-poll's wait.
POLL_SLACK_SECONDS = 15.0
#: Back-off between attempts when the server answers `held` before the wait is over
#: and sends no retry hint (a server without blocking acquire, or a lost hand-off).
DEFAULT_RETRY_SECONDS = 0.25


@dataclasses.dataclass(frozen=True)
class Holder:
    """One current holder of a lock (a semaphore has up to `max_holders` of them)."""

    holder_id: str
    fencing_token: int
    expires_at: datetime.datetime
    metadata: str | None = None


@dataclasses.dataclass(frozen=True)
class LockState:
    """A lock as `status`, `watch`, `list` and `watch_prefix` report it. Only `name`,
    `status` and `revision` are set when the lock is free.

    A semaphore's `holder_id`, `fencing_token`, `expires_at` and `metadata` are those of
    its holder with the lowest fencing token; `holders` lists every holder and
    `max_holders` its size. A lock kept only by a lock-delay is `held` with `holder_id`
    None and `available_at` set."""

    name: str
    status: str
    revision: int
    holder_id: str | None = None
    fencing_token: int | None = None
    expires_at: datetime.datetime | None = None
    metadata: str | None = None
    max_holders: int | None = None
    holders: tuple[Holder, ...] = ()
    available_at: datetime.datetime | None = None

    @property
    def held(self) -> bool:
        """Whether someone holds the lock (or a lock-delay keeps it)."""
        return self.status == "held"


@dataclasses.dataclass(frozen=True)
class Held:
    """An acquire found the lock held by someone else: who (`holder_id`, the token id
    and its owner), when that lease ends unless renewed, and when to try again. While a
    lock-delay keeps the lock after an expiry, `holder_id` is None and `available_at`
    says when it ends."""

    name: str
    holder_id: str | None
    expires_at: datetime.datetime | None
    retry_after_ms: int | None
    available_at: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class PrefixChanges:
    """One answer of a prefix watch: the locks under the prefix that changed past the
    index sent, by name (a released or expired one is `free`), and the `index` to watch
    from next. When `complete` is False the server no longer remembered every lock freed
    since that index: `changes` then holds every held lock under the prefix, and any
    other lock the caller knew of is free."""

    index: int
    changes: tuple[LockState, ...]
    complete: bool


@dataclasses.dataclass(frozen=True)
class Leader:
    """The current leader of an election: its published `value`, its holder and its
    lease's fencing token."""

    value: str | None
    holder_id: str
    fencing_token: int
    revision: int


@dataclasses.dataclass(frozen=True)
class Spec:
    """What one acquire asks for besides the name and the wait (for the sync and the
    async helpers; `session` is a `Session` or an `AsyncSession`)."""

    ttl: int
    metadata: str | None = None
    auto_renew: bool = True
    lock_delay: int | None = None
    max_holders: int | None = None
    session: Any = None


def opt(value: Any) -> Any:
    """The generated models' UNSET as None."""
    return None if value is UNSET else value


def to_state(s: LockStatus) -> LockState:
    """Converts the generated LockStatus."""
    return LockState(
        name=s.name,
        status=str(s.status),
        revision=int(opt(s.revision) or 0),
        holder_id=opt(s.holder_id),
        fencing_token=opt(s.fencing_token),
        expires_at=opt(s.expires_at),
        metadata=opt(s.metadata),
        max_holders=opt(s.max_holders),
        holders=tuple(
            Holder(h.holder_id, h.fencing_token, h.expires_at, opt(h.metadata)) for h in (opt(s.holders) or ())
        ),
        available_at=opt(s.available_at),
    )


def to_changes(page: Any) -> PrefixChanges:
    """A prefix watch's answer (a generated LockList) as PrefixChanges."""
    index = opt(page.index)
    if index is None:
        raise errors.ProtocolError("prefix watch answer without index")
    complete = opt(page.complete)
    return PrefixChanges(
        index=int(index),
        changes=tuple(to_state(c) for c in (opt(page.changes) or ())),
        complete=True if complete is None else bool(complete),
    )


def to_held(name: str, res: Any) -> Held:
    """A `held` acquire answer (a generated AcquireResult) as Held."""
    return Held(name, opt(res.holder_id), res.expires_at, opt(res.retry_after_ms), opt(res.available_at))


def to_leader(s: LockState) -> Leader | None:
    """The election's view of a lock state: None when nobody leads. A lock kept only by a
    lock-delay (after the leader's lease expired or its session was lost) is `held` with
    no holder and no fencing token until `available_at`: nobody leads it."""
    if not s.held or s.holder_id is None or s.fencing_token is None:
        return None
    return Leader(value=s.metadata, holder_id=s.holder_id, fencing_token=s.fencing_token, revision=s.revision)


def leader_key(s: LockState) -> tuple[Any, ...] | None:
    """What an observer compares to tell a change of leader or value: None when nobody
    leads (so a lock-delay ending, which frees the lock, is no change)."""
    leader = to_leader(s)
    return None if leader is None else (leader.fencing_token, leader.value)


def acquire_body(
    ttl: int | None,
    owner: str | None,
    wait: int,
    metadata: str | None,
    *,
    session_id: str | None = None,
    lock_delay: int | None = None,
    max_holders: int | None = None,
) -> AcquireRequest:
    """The acquire request; optional fields are left out unless given. A lease bound to
    a session sends its `session_id` and no TTL (the server would ignore it)."""
    return AcquireRequest(
        ttl_seconds=UNSET if ttl is None or session_id is not None else ttl,
        owner=UNSET if owner is None else owner,
        wait_seconds=UNSET if wait == 0 else wait,
        metadata=UNSET if metadata is None else metadata,
        session_id=UNSET if session_id is None else session_id,
        lock_delay_seconds=UNSET if not lock_delay else lock_delay,
        max_holders=UNSET if max_holders is None else max_holders,
    )


def check_holders(n: int) -> None:
    """A semaphore admits 1 to 64 holders."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
        raise ValueError(f"a semaphore of {n!r} holders: want 1 to 64")


def session_deadline(sent: float, renew_after_ms: int) -> float:
    """The local end of a session renewed at `sent` (monotonic): three of the server's
    renew_after_ms after the request was sent, never later than the server's."""
    return sent + 3 * max(renew_after_ms, 0) / 1000.0


def result(response: Response[Any], expected: type[T]) -> T:
    """The parsed success body, or the typed exception for an error response."""
    parsed = response.parsed
    if 200 <= response.status_code < 300:
        if isinstance(parsed, expected):
            return parsed
        raise errors.ProtocolError(f"HTTP {int(response.status_code)}: unexpected body")
    if isinstance(parsed, Problem) or parsed is None:
        raise errors.problem_error(int(response.status_code), response.content, response.headers)
    raise errors.ProtocolError(f"HTTP {int(response.status_code)}: unexpected body")


def call(fn: Callable[..., Response[Any]], expected: type[T], *args: Any, **kwargs: Any) -> T:
    """Runs one generated `sync_detailed` call and translates its outcome."""
    try:
        response = fn(*args, **kwargs)
    except httpx.HTTPError as e:
        raise errors.TransportError(str(e) or type(e).__name__) from e
    except (KeyError, ValueError, TypeError) as e:
        raise errors.ProtocolError(f"response does not match the API: {e!r}") from e
    return result(response, expected)


async def acall(fn: Callable[..., Awaitable[Response[Any]]], expected: type[T], *args: Any, **kwargs: Any) -> T:
    """Runs one generated `asyncio_detailed` call and translates its outcome."""
    try:
        response = await fn(*args, **kwargs)
    except httpx.HTTPError as e:
        raise errors.TransportError(str(e) or type(e).__name__) from e
    except (KeyError, ValueError, TypeError) as e:
        raise errors.ProtocolError(f"response does not match the API: {e!r}") from e
    return result(response, expected)


def renew_delay(renew_after_ms: int | None, ttl: int) -> float:
    """Seconds until the next renewal: the server's hint, else a third of the TTL."""
    if renew_after_ms is not None:
        return max(renew_after_ms / 1000.0, 0.05)
    return max(ttl / 3.0, 0.05)


def retry_delay(retry_after_ms: int | None) -> float:
    """Seconds to back off after an early `held`, bounded to [50 ms, 1 s]."""
    if retry_after_ms is None:
        return DEFAULT_RETRY_SECONDS
    return min(max(retry_after_ms / 1000.0, 0.05), 1.0)


def wait_chunk(remaining: float | None) -> int:
    """The wait_seconds for the next blocking request: whole seconds (rounded down,
    with 100 ms of tolerance for the time spent before asking), at most 60."""
    if remaining is None:
        return MAX_WAIT_SECONDS
    return max(0, min(MAX_WAIT_SECONDS, int(remaining + 0.1)))


_OWNER_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_owner() -> str:
    """A holder name unique to this helper: `<host>-<pid>-<8 random hex digits>`."""
    host = _OWNER_UNSAFE.sub("-", socket.gethostname()).strip("-")[:100] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


# The largest page GET /locks hands out, and how many pages `list` follows at most.
MAX_LIST_PAGE = 1000
MAX_LIST_PAGES = 1000


def next_cursor(page: Any) -> str | None:
    """The cursor of the page after `page` (a generated LockList), or None on the last."""
    cursor = getattr(page, "next_cursor", None)
    return cursor if isinstance(cursor, str) and cursor else None


def check_name(name: str) -> None:
    """An empty lock name, `.` or `..` is an invalid name: in a URL path they are no name
    (httpx resolves dot segments), so the server would see another path."""
    if not name:
        raise errors.InvalidLockName("invalid_lock_name", 400, detail="the lock name is empty")
    if name in (".", ".."):
        raise errors.InvalidLockName("invalid_lock_name", 400, detail="the lock names . and .. are not valid")


def lease_left(renew_after_ms: int | None, ttl: int) -> float:
    """Seconds the lease has left when the server's answer arrived: the server's
    renew_after_ms is a third of the remaining time; without it, the TTL."""
    if renew_after_ms is not None and renew_after_ms > 0:
        return min(3 * renew_after_ms / 1000.0, float(ttl))
    return float(ttl)


def _transport(url: str, e: BaseException) -> errors.TransportError:
    cause = str(e) or type(e).__name__
    if isinstance(e, httpx.TimeoutException) and "timed out" not in cause:
        cause = f"timed out ({cause})"
    return errors.TransportError(f"{url}: {cause}")


def send(
    module: ModuleType, expected: type[T], *args: Any, client: Any, timeout: float, url: str, **kwargs: Any
) -> T:
    """One request through a generated operation module (its `_get_kwargs` and
    `_build_response`), bounded by `timeout` seconds, translated to the helper's types."""
    try:
        req = module._get_kwargs(*args, **kwargs)
        response = client.get_httpx_client().request(**req, timeout=httpx.Timeout(max(timeout, 0.001)))
        built = module._build_response(client=client, response=response)
    except httpx.HTTPError as e:
        raise _transport(url, e) from e
    except (KeyError, ValueError, TypeError) as e:
        raise errors.ProtocolError(f"response does not match the API: {e!r}") from e
    return result(built, expected)


async def asend(
    module: ModuleType, expected: type[T], *args: Any, client: Any, timeout: float, url: str, **kwargs: Any
) -> T:
    """The asyncio form of `send`."""
    try:
        req = module._get_kwargs(*args, **kwargs)
        response = await client.get_async_httpx_client().request(**req, timeout=httpx.Timeout(max(timeout, 0.001)))
        built = module._build_response(client=client, response=response)
    except httpx.HTTPError as e:
        raise _transport(url, e) from e
    except (KeyError, ValueError, TypeError) as e:
        raise errors.ProtocolError(f"response does not match the API: {e!r}") from e
    return result(built, expected)
