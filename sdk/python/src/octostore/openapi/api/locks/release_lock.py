from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.release_request import ReleaseRequest
from ...models.release_result import ReleaseResult
from ...types import Response


def _get_kwargs(
    name: str,
    *,
    body: ReleaseRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/locks/{name}/release".format(
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

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
    client: AuthenticatedClient | Client,
    body: ReleaseRequest,
) -> Response[Problem | ReleaseResult]:
    """Give a lock back

     Ends the lease at once. Only the current lease of this lock can be released: an
    unknown, expired, already released or other lock's lease gets `lease_not_current`
    and changes nothing.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (ReleaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReleaseResult]
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
    body: ReleaseRequest,
) -> Problem | ReleaseResult | None:
    """Give a lock back

     Ends the lease at once. Only the current lease of this lock can be released: an
    unknown, expired, already released or other lock's lease gets `lease_not_current`
    and changes nothing.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (ReleaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReleaseResult
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
    body: ReleaseRequest,
) -> Response[Problem | ReleaseResult]:
    """Give a lock back

     Ends the lease at once. Only the current lease of this lock can be released: an
    unknown, expired, already released or other lock's lease gets `lease_not_current`
    and changes nothing.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (ReleaseRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReleaseResult]
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
    body: ReleaseRequest,
) -> Problem | ReleaseResult | None:
    """Give a lock back

     Ends the lease at once. Only the current lease of this lock can be released: an
    unknown, expired, already released or other lock's lease gets `lease_not_current`
    and changes nothing.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        body (ReleaseRequest):

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
            body=body,
        )
    ).parsed
