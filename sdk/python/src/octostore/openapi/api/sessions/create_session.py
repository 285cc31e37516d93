from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.create_session_request import CreateSessionRequest
from ...models.problem import Problem
from ...models.session_result import SessionResult
from ...types import Response


def _get_kwargs(
    *,
    body: CreateSessionRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/sessions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SessionResult:
    if response.status_code == 201:
        response_201 = SessionResult.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[Problem | SessionResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateSessionRequest,
) -> Response[Problem | SessionResult]:
    """Start a session, a lease on liveness that many locks share

     A session lives for `ttl_seconds` on the server's clock unless it is renewed
    (`POST /sessions/{session_id}/renew`). An acquire that names it with `session_id`
    binds its lease to it: the lease has no TTL of its own, every renewal of the session
    renews it, and it ends when the session ends, an **ephemeral lock**. Deleting the
    session releases every lock bound to it cleanly; a session that expires (its process
    died) ends them too, and their `lock_delay_seconds` apply.

    Sessions are durable like leases: a restart gives each one a fresh full TTL, and its
    locks with it. An account has at most 100 sessions unless the operator set
    `MAX_SESSIONS_PER_ACCOUNT` (409 `session_limit_exceeded`). The session id is random
    (128 bits); keep it to renew, inspect and delete the session.

    Args:
        body (CreateSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionResult]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateSessionRequest,
) -> Problem | SessionResult | None:
    """Start a session, a lease on liveness that many locks share

     A session lives for `ttl_seconds` on the server's clock unless it is renewed
    (`POST /sessions/{session_id}/renew`). An acquire that names it with `session_id`
    binds its lease to it: the lease has no TTL of its own, every renewal of the session
    renews it, and it ends when the session ends, an **ephemeral lock**. Deleting the
    session releases every lock bound to it cleanly; a session that expires (its process
    died) ends them too, and their `lock_delay_seconds` apply.

    Sessions are durable like leases: a restart gives each one a fresh full TTL, and its
    locks with it. An account has at most 100 sessions unless the operator set
    `MAX_SESSIONS_PER_ACCOUNT` (409 `session_limit_exceeded`). The session id is random
    (128 bits); keep it to renew, inspect and delete the session.

    Args:
        body (CreateSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionResult
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateSessionRequest,
) -> Response[Problem | SessionResult]:
    """Start a session, a lease on liveness that many locks share

     A session lives for `ttl_seconds` on the server's clock unless it is renewed
    (`POST /sessions/{session_id}/renew`). An acquire that names it with `session_id`
    binds its lease to it: the lease has no TTL of its own, every renewal of the session
    renews it, and it ends when the session ends, an **ephemeral lock**. Deleting the
    session releases every lock bound to it cleanly; a session that expires (its process
    died) ends them too, and their `lock_delay_seconds` apply.

    Sessions are durable like leases: a restart gives each one a fresh full TTL, and its
    locks with it. An account has at most 100 sessions unless the operator set
    `MAX_SESSIONS_PER_ACCOUNT` (409 `session_limit_exceeded`). The session id is random
    (128 bits); keep it to renew, inspect and delete the session.

    Args:
        body (CreateSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SessionResult]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateSessionRequest,
) -> Problem | SessionResult | None:
    """Start a session, a lease on liveness that many locks share

     A session lives for `ttl_seconds` on the server's clock unless it is renewed
    (`POST /sessions/{session_id}/renew`). An acquire that names it with `session_id`
    binds its lease to it: the lease has no TTL of its own, every renewal of the session
    renews it, and it ends when the session ends, an **ephemeral lock**. Deleting the
    session releases every lock bound to it cleanly; a session that expires (its process
    died) ends them too, and their `lock_delay_seconds` apply.

    Sessions are durable like leases: a restart gives each one a fresh full TTL, and its
    locks with it. An account has at most 100 sessions unless the operator set
    `MAX_SESSIONS_PER_ACCOUNT` (409 `session_limit_exceeded`). The session id is random
    (128 bits); keep it to renew, inspect and delete the session.

    Args:
        body (CreateSessionRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SessionResult
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
