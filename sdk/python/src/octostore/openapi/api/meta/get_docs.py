from http import HTTPStatus
from typing import Any, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/docs",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | str:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 431:
        response_431 = Problem.from_dict(response.json())

        return response_431

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Problem | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem | str]:
    """API reference (Scalar), served from the binary

     An HTML page with no reference to any outside host. It is gzip-compressed when the
    request's `Accept-Encoding` allows gzip (compressed once per process, not per
    request) and carries a strong `ETag`; a request whose `If-None-Match` names it gets
    304 with no body.
    `Cache-Control: public, no-cache`: the address is not versioned, so a cache may
    keep the page but asks each time (a 304 costs a few hundred bytes) and shows a new
    version as soon as the server is upgraded.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | str]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | str | None:
    """API reference (Scalar), served from the binary

     An HTML page with no reference to any outside host. It is gzip-compressed when the
    request's `Accept-Encoding` allows gzip (compressed once per process, not per
    request) and carries a strong `ETag`; a request whose `If-None-Match` names it gets
    304 with no body.
    `Cache-Control: public, no-cache`: the address is not versioned, so a cache may
    keep the page but asks each time (a 304 costs a few hundred bytes) and shows a new
    version as soon as the server is upgraded.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | str
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem | str]:
    """API reference (Scalar), served from the binary

     An HTML page with no reference to any outside host. It is gzip-compressed when the
    request's `Accept-Encoding` allows gzip (compressed once per process, not per
    request) and carries a strong `ETag`; a request whose `If-None-Match` names it gets
    304 with no body.
    `Cache-Control: public, no-cache`: the address is not versioned, so a cache may
    keep the page but asks each time (a 304 costs a few hundred bytes) and shows a new
    version as soon as the server is upgraded.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | str]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | str | None:
    """API reference (Scalar), served from the binary

     An HTML page with no reference to any outside host. It is gzip-compressed when the
    request's `Accept-Encoding` allows gzip (compressed once per process, not per
    request) and carries a strong `ETag`; a request whose `If-None-Match` names it gets
    304 with no body.
    `Cache-Control: public, no-cache`: the address is not versioned, so a cache may
    keep the page but asks each time (a 304 costs a few hundred bytes) and shows a new
    version as soon as the server is upgraded.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | str
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
