from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.release_result import ReleaseResult
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    x_csrf_token: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-CSRF-Token"] = x_csrf_token

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/dashboard/locks/{name}/release".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ReleaseResult:
    if response.status_code == 200:
        response_200 = ReleaseResult.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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
) -> Response[Problem | ReleaseResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
    x_csrf_token: str,
) -> Response[Problem | ReleaseResult]:
    """Release a lock the session's token holds

     Releases the lock when its current holder is the session's token (any owner), like
    `POST /locks/{name}/release` with that holder's lease id, which the page never sees.
    A lock held by another token of the account, or not held, gets 409
    `lease_not_current` and nothing changes.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        x_csrf_token (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReleaseResult]
    """

    kwargs = _get_kwargs(
        name=name,
        x_csrf_token=x_csrf_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient,
    x_csrf_token: str,
) -> Problem | ReleaseResult | None:
    """Release a lock the session's token holds

     Releases the lock when its current holder is the session's token (any owner), like
    `POST /locks/{name}/release` with that holder's lease id, which the page never sees.
    A lock held by another token of the account, or not held, gets 409
    `lease_not_current` and nothing changes.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        x_csrf_token (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReleaseResult
    """

    return sync_detailed(
        name=name,
        client=client,
        x_csrf_token=x_csrf_token,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient,
    x_csrf_token: str,
) -> Response[Problem | ReleaseResult]:
    """Release a lock the session's token holds

     Releases the lock when its current holder is the session's token (any owner), like
    `POST /locks/{name}/release` with that holder's lease id, which the page never sees.
    A lock held by another token of the account, or not held, gets 409
    `lease_not_current` and nothing changes.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        x_csrf_token (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReleaseResult]
    """

    kwargs = _get_kwargs(
        name=name,
        x_csrf_token=x_csrf_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient,
    x_csrf_token: str,
) -> Problem | ReleaseResult | None:
    """Release a lock the session's token holds

     Releases the lock when its current holder is the session's token (any owner), like
    `POST /locks/{name}/release` with that holder's lease id, which the page never sees.
    A lock held by another token of the account, or not held, gets 409
    `lease_not_current` and nothing changes.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        x_csrf_token (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReleaseResult
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            x_csrf_token=x_csrf_token,
        )
    ).parsed
