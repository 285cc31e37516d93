"""Typed exceptions. Every server error is a ProblemError subclass chosen by its stable
problem `code`; client-side outcomes (held, timeout) have their own classes."""

from __future__ import annotations

import datetime
import json
from typing import Any


class OctoStoreError(Exception):
    """Base class of every exception this package raises. `code` is machine-readable."""

    code: str = "error"


class ProblemError(OctoStoreError):
    """The server answered with an RFC 9457 problem document.

    Attributes mirror the document: `code` (stable), `status` (HTTP), `title`, `detail`
    and `request_id` (quote it when reporting a problem). `retry_after` is the
    Retry-After header in seconds, when the server sent one.
    """

    def __init__(
        self,
        code: str,
        status: int,
        title: str = "",
        detail: str = "",
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.retry_after = retry_after
        text = f"{status} {code}"
        if detail:
            text += f": {detail}"
        if request_id:
            text += f" (request {request_id})"
        super().__init__(text)


class InvalidRequest(ProblemError):
    """400 `invalid_request`: malformed body, unknown field or bad parameter."""


class InvalidLockName(InvalidRequest):
    """400 `invalid_lock_name`: names match ^[A-Za-z0-9.-]{1,128}$."""


class InvalidTTL(InvalidRequest):
    """400 `invalid_ttl`: TTLs are whole seconds from 1 to 3600."""


class Unauthorized(ProblemError):
    """401 `unauthorized`: missing, unknown or rotated-away token."""


class NotFound(ProblemError):
    """404 `not_found` (and the admin API's `account_not_found`, `admin_disabled`)."""


class MethodNotAllowed(ProblemError):
    """405 `method_not_allowed`."""


class Conflict(ProblemError):
    """409: the request conflicts with the lock's or account's state."""


class LeaseNotCurrent(Conflict):
    """409 `lease_not_current`: the lease expired, was released, or is another lock's."""


class LockLimitExceeded(Conflict):
    """409 `lock_limit_exceeded`: the account holds its maximum of active locks."""


class AccountExists(Conflict):
    """409 `account_exists` (admin API)."""


class MaxHoldersMismatch(Conflict):
    """409 `max_holders_mismatch`: the lock's holders or waiters use another semaphore
    size (`max_holders`); every holder of a lock must ask for the same N."""


class SessionMismatch(Conflict):
    """409 `session_mismatch`: this holder already holds the lock through another
    session (or without one)."""


class SessionLimitExceeded(Conflict):
    """409 `session_limit_exceeded`: the account has its maximum of sessions."""


class SessionNotFound(NotFound):
    """404 `session_not_found`: the session expired, was deleted or is another
    account's; the locks bound to it are gone."""


class PayloadTooLarge(ProblemError):
    """413 `payload_too_large`."""


class UnsupportedMediaType(ProblemError):
    """415 `unsupported_media_type`."""


class RateLimited(ProblemError):
    """429 `rate_limited` (or `too_many_waiters`); see `retry_after`."""


class Unavailable(ProblemError):
    """503 `unavailable` or `no_leader` (a cluster without a leader): shutting down or
    cannot write; see `retry_after`."""


class ServerError(ProblemError):
    """500 `internal`, or any answer that is not a documented problem."""


_BY_CODE: dict[str, type[ProblemError]] = {
    "invalid_request": InvalidRequest,
    "invalid_lock_name": InvalidLockName,
    "invalid_ttl": InvalidTTL,
    "unauthorized": Unauthorized,
    "not_found": NotFound,
    "account_not_found": NotFound,
    "admin_disabled": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "lease_not_current": LeaseNotCurrent,
    "lock_limit_exceeded": LockLimitExceeded,
    "account_exists": AccountExists,
    "max_holders_mismatch": MaxHoldersMismatch,
    "session_mismatch": SessionMismatch,
    "session_limit_exceeded": SessionLimitExceeded,
    "session_not_found": SessionNotFound,
    "too_many_waiters": RateLimited,
    "payload_too_large": PayloadTooLarge,
    "unsupported_media_type": UnsupportedMediaType,
    "rate_limited": RateLimited,
    "unavailable": Unavailable,
    "no_leader": Unavailable,
    "internal": ServerError,
}


def problem_error(status: int, body: bytes, headers: Any = None) -> ProblemError:
    """Builds the typed exception for an error response (status, raw body, headers)."""
    retry_after = None
    if headers is not None:
        value = headers.get("retry-after")
        if value is not None:
            try:
                retry_after = float(value)
            except ValueError:
                retry_after = None
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("code"), str):
        return ServerError(
            "unexpected_response", status, detail=f"HTTP {status} without a problem document", retry_after=retry_after
        )
    code = doc["code"]
    cls = _BY_CODE.get(code, ProblemError)
    return cls(
        code,
        int(doc.get("status", status)),
        str(doc.get("title", "")),
        str(doc.get("detail", "")),
        str(doc.get("request_id", "")),
        retry_after,
    )


class ProtocolError(OctoStoreError):
    """A success response that does not match the API (a server of another version?)."""

    code = "protocol"


class TransportError(OctoStoreError):
    """The request did not complete: connection refused, reset, or timed out."""

    code = "transport"


class LockHeld(OctoStoreError):
    """`try_lock` found the lock held by someone else (not a failure of the server).

    `holder_id`, `expires_at` (when that lease ends unless renewed) and
    `retry_after_ms` (when trying again is worthwhile) come from the server; while a
    lock-delay keeps the lock, `holder_id` is None and `available_at` says until when.
    """

    code = "held"

    def __init__(
        self,
        name: str,
        holder_id: str | None,
        expires_at: datetime.datetime | None,
        retry_after_ms: int | None,
        available_at: datetime.datetime | None = None,
    ) -> None:
        self.name = name
        self.holder_id = holder_id
        self.expires_at = expires_at
        self.retry_after_ms = retry_after_ms
        self.available_at = available_at
        if holder_id is None and available_at is not None:
            super().__init__(f"lock {name!r} is kept by a lock-delay until {available_at}")
        else:
            super().__init__(f"lock {name!r} is held by {holder_id} until {expires_at}")


class LockTimeout(OctoStoreError, TimeoutError):
    """A blocking `lock` or `campaign` ran out of its `wait` before getting the lock."""

    code = "timeout"

    def __init__(self, name: str, waited: float) -> None:
        self.name = name
        self.waited = waited
        super().__init__(f"lock {name!r} not acquired within {waited:g}s")


class LockLost(OctoStoreError):
    """A scoped block (`with client.lock(...)`) ended normally but its lease was lost
    while it ran: the work it did was not protected to the end. `reason` says why."""

    code = "lock_lost"

    def __init__(self, name: str, reason: BaseException | None) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"lock {name!r} was lost while the block ran: {reason}")


class SessionEnded(OctoStoreError):
    """A lock was asked for through a session this helper closed or orphaned: it is no
    longer kept alive, so nothing can be bound to it."""

    code = "session_ended"

    def __init__(self, session_id: str, how: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id} was {how}: nothing can be acquired through it")


class SessionLost(OctoStoreError):
    """A session's `with` block ended normally but the session was lost while it ran
    (the server no longer knew it, or no renewal succeeded in time): every lock bound
    to it ended then. `reason` says why."""

    code = "session_lost"

    def __init__(self, session_id: str, reason: BaseException | None) -> None:
        self.session_id = session_id
        self.reason = reason
        super().__init__(f"session {session_id} was lost while the block ran: {reason}")
