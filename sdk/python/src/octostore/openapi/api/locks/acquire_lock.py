from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.acquire_request import AcquireRequest
from ...models.acquire_result import AcquireResult
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: AcquireRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/locks/{name}/acquire".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AcquireResult | Problem:
    if response.status_code == 200:
        response_200 = AcquireResult.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 431:
        response_431 = Problem.from_dict(response.json())

        return response_431

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AcquireResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: AcquireRequest,
) -> Response[AcquireResult | Problem]:
    """Try to take a lock

     Grants the lock when it is free (never taken, released, or expired) and returns a new
    lease with a fencing token larger than any issued before. When someone else holds it,
    returns `held` with the holder and when its lease ends; both are HTTP 200.

    Re-acquiring a lock you already hold (same token **and** the same non-empty
    `owner`) is idempotent: the same lease and fencing token come back, and the expiry
    moves to now + `ttl_seconds` if that is later (a `metadata` sent with it replaces the
    stored one). A retried request with an `owner` is therefore safe. An acquire without
    an `owner` is a holder of its own: it never matches an earlier lease, even one taken
    with the same token, so a second owner-less acquire of a held lock gets `held`.

    A lock name is 1 to 128 characters; an empty name (`/locks//acquire`) is 400
    `invalid_lock_name`.

    **Blocking acquire**: with `wait_seconds` > 0 the request waits in line until the
    lock is granted to it or the wait ends (then the normal `held`). Waiters are served
    first come, first served: a release or expiry hands the lock to the next waiter
    directly, without waking the others. A waiter that disconnects leaves the line and
    is never granted the lock. Waiting takes no lock of your quota (a hand-off replaces
    the previous lease, so the account's count does not grow). The line lives in the
    server's memory: if the server restarts, waiting requests end and clients retry.
    A line holds at most 1024 waiters; past that a waiting acquire answers `held` at once.

    **Ephemeral lock**: with `session_id` the lease is bound to that session (see
    `POST /sessions`): it lives as long as the session, renewing the session renews it,
    and it ends when the session is deleted or expires. `ttl_seconds` is then not
    needed (if sent, it is ignored: the session's TTL rules); without `session_id` it
    is required. An unknown session is 404 `session_not_found`.

    **Lock-delay**: `lock_delay_seconds` (0..60) keeps the lock from everyone for that
    long after this lease *expires* (or its session expires), never after a release.
    During the delay an acquire gets `held` with `holder_id` null, `available_at` (when
    the delay ends) and `retry_after_ms`; a blocking acquire waits.

    **Semaphore**: `max_holders` N (1..64) lets up to N distinct holders hold the lock
    at once, each with its own lease and fencing token; the N+1th gets `held` (or
    waits). Every holder must send the same N (409 `max_holders_mismatch`).

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (AcquireRequest): `ttl_seconds` is required unless `session_id` is given (400
            `invalid_ttl`
            otherwise); with `session_id` the session's TTL rules and `ttl_seconds`, if sent,
            is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AcquireResult | Problem]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: AcquireRequest,
) -> AcquireResult | Problem | None:
    """Try to take a lock

     Grants the lock when it is free (never taken, released, or expired) and returns a new
    lease with a fencing token larger than any issued before. When someone else holds it,
    returns `held` with the holder and when its lease ends; both are HTTP 200.

    Re-acquiring a lock you already hold (same token **and** the same non-empty
    `owner`) is idempotent: the same lease and fencing token come back, and the expiry
    moves to now + `ttl_seconds` if that is later (a `metadata` sent with it replaces the
    stored one). A retried request with an `owner` is therefore safe. An acquire without
    an `owner` is a holder of its own: it never matches an earlier lease, even one taken
    with the same token, so a second owner-less acquire of a held lock gets `held`.

    A lock name is 1 to 128 characters; an empty name (`/locks//acquire`) is 400
    `invalid_lock_name`.

    **Blocking acquire**: with `wait_seconds` > 0 the request waits in line until the
    lock is granted to it or the wait ends (then the normal `held`). Waiters are served
    first come, first served: a release or expiry hands the lock to the next waiter
    directly, without waking the others. A waiter that disconnects leaves the line and
    is never granted the lock. Waiting takes no lock of your quota (a hand-off replaces
    the previous lease, so the account's count does not grow). The line lives in the
    server's memory: if the server restarts, waiting requests end and clients retry.
    A line holds at most 1024 waiters; past that a waiting acquire answers `held` at once.

    **Ephemeral lock**: with `session_id` the lease is bound to that session (see
    `POST /sessions`): it lives as long as the session, renewing the session renews it,
    and it ends when the session is deleted or expires. `ttl_seconds` is then not
    needed (if sent, it is ignored: the session's TTL rules); without `session_id` it
    is required. An unknown session is 404 `session_not_found`.

    **Lock-delay**: `lock_delay_seconds` (0..60) keeps the lock from everyone for that
    long after this lease *expires* (or its session expires), never after a release.
    During the delay an acquire gets `held` with `holder_id` null, `available_at` (when
    the delay ends) and `retry_after_ms`; a blocking acquire waits.

    **Semaphore**: `max_holders` N (1..64) lets up to N distinct holders hold the lock
    at once, each with its own lease and fencing token; the N+1th gets `held` (or
    waits). Every holder must send the same N (409 `max_holders_mismatch`).

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (AcquireRequest): `ttl_seconds` is required unless `session_id` is given (400
            `invalid_ttl`
            otherwise); with `session_id` the session's TTL rules and `ttl_seconds`, if sent,
            is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AcquireResult | Problem
    """

    return sync_detailed(
        name=name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: AcquireRequest,
) -> Response[AcquireResult | Problem]:
    """Try to take a lock

     Grants the lock when it is free (never taken, released, or expired) and returns a new
    lease with a fencing token larger than any issued before. When someone else holds it,
    returns `held` with the holder and when its lease ends; both are HTTP 200.

    Re-acquiring a lock you already hold (same token **and** the same non-empty
    `owner`) is idempotent: the same lease and fencing token come back, and the expiry
    moves to now + `ttl_seconds` if that is later (a `metadata` sent with it replaces the
    stored one). A retried request with an `owner` is therefore safe. An acquire without
    an `owner` is a holder of its own: it never matches an earlier lease, even one taken
    with the same token, so a second owner-less acquire of a held lock gets `held`.

    A lock name is 1 to 128 characters; an empty name (`/locks//acquire`) is 400
    `invalid_lock_name`.

    **Blocking acquire**: with `wait_seconds` > 0 the request waits in line until the
    lock is granted to it or the wait ends (then the normal `held`). Waiters are served
    first come, first served: a release or expiry hands the lock to the next waiter
    directly, without waking the others. A waiter that disconnects leaves the line and
    is never granted the lock. Waiting takes no lock of your quota (a hand-off replaces
    the previous lease, so the account's count does not grow). The line lives in the
    server's memory: if the server restarts, waiting requests end and clients retry.
    A line holds at most 1024 waiters; past that a waiting acquire answers `held` at once.

    **Ephemeral lock**: with `session_id` the lease is bound to that session (see
    `POST /sessions`): it lives as long as the session, renewing the session renews it,
    and it ends when the session is deleted or expires. `ttl_seconds` is then not
    needed (if sent, it is ignored: the session's TTL rules); without `session_id` it
    is required. An unknown session is 404 `session_not_found`.

    **Lock-delay**: `lock_delay_seconds` (0..60) keeps the lock from everyone for that
    long after this lease *expires* (or its session expires), never after a release.
    During the delay an acquire gets `held` with `holder_id` null, `available_at` (when
    the delay ends) and `retry_after_ms`; a blocking acquire waits.

    **Semaphore**: `max_holders` N (1..64) lets up to N distinct holders hold the lock
    at once, each with its own lease and fencing token; the N+1th gets `held` (or
    waits). Every holder must send the same N (409 `max_holders_mismatch`).

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (AcquireRequest): `ttl_seconds` is required unless `session_id` is given (400
            `invalid_ttl`
            otherwise); with `session_id` the session's TTL rules and `ttl_seconds`, if sent,
            is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AcquireResult | Problem]
    """

    kwargs = _get_kwargs(
        name=name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: AcquireRequest,
) -> AcquireResult | Problem | None:
    """Try to take a lock

     Grants the lock when it is free (never taken, released, or expired) and returns a new
    lease with a fencing token larger than any issued before. When someone else holds it,
    returns `held` with the holder and when its lease ends; both are HTTP 200.

    Re-acquiring a lock you already hold (same token **and** the same non-empty
    `owner`) is idempotent: the same lease and fencing token come back, and the expiry
    moves to now + `ttl_seconds` if that is later (a `metadata` sent with it replaces the
    stored one). A retried request with an `owner` is therefore safe. An acquire without
    an `owner` is a holder of its own: it never matches an earlier lease, even one taken
    with the same token, so a second owner-less acquire of a held lock gets `held`.

    A lock name is 1 to 128 characters; an empty name (`/locks//acquire`) is 400
    `invalid_lock_name`.

    **Blocking acquire**: with `wait_seconds` > 0 the request waits in line until the
    lock is granted to it or the wait ends (then the normal `held`). Waiters are served
    first come, first served: a release or expiry hands the lock to the next waiter
    directly, without waking the others. A waiter that disconnects leaves the line and
    is never granted the lock. Waiting takes no lock of your quota (a hand-off replaces
    the previous lease, so the account's count does not grow). The line lives in the
    server's memory: if the server restarts, waiting requests end and clients retry.
    A line holds at most 1024 waiters; past that a waiting acquire answers `held` at once.

    **Ephemeral lock**: with `session_id` the lease is bound to that session (see
    `POST /sessions`): it lives as long as the session, renewing the session renews it,
    and it ends when the session is deleted or expires. `ttl_seconds` is then not
    needed (if sent, it is ignored: the session's TTL rules); without `session_id` it
    is required. An unknown session is 404 `session_not_found`.

    **Lock-delay**: `lock_delay_seconds` (0..60) keeps the lock from everyone for that
    long after this lease *expires* (or its session expires), never after a release.
    During the delay an acquire gets `held` with `holder_id` null, `available_at` (when
    the delay ends) and `retry_after_ms`; a blocking acquire waits.

    **Semaphore**: `max_holders` N (1..64) lets up to N distinct holders hold the lock
    at once, each with its own lease and fencing token; the N+1th gets `held` (or
    waits). Every holder must send the same N (409 `max_holders_mismatch`).

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (AcquireRequest): `ttl_seconds` is required unless `session_id` is given (400
            `invalid_ttl`
            otherwise); with `session_id` the session's TTL rules and `ttl_seconds`, if sent,
            is ignored.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AcquireResult | Problem
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            body=body,
        )
    ).parsed
