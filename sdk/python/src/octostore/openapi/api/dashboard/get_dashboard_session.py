from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.dashboard_session import DashboardSession
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/dashboard/session",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DashboardSession | Problem:
    if response.status_code == 200:
        response_200 = DashboardSession.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[DashboardSession | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[DashboardSession | Problem]:
    """Who is signed in

     The signed-in GitHub user, their account and token id, and the CSRF token to send as
    `X-CSRF-Token` with every dashboard request that changes something. Right after a
    sign-in that created the account, `new_token` carries its bearer token: in that one
    response only, because the server keeps only its hash.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DashboardSession | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> DashboardSession | Problem | None:
    """Who is signed in

     The signed-in GitHub user, their account and token id, and the CSRF token to send as
    `X-CSRF-Token` with every dashboard request that changes something. Right after a
    sign-in that created the account, `new_token` carries its bearer token: in that one
    response only, because the server keeps only its hash.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DashboardSession | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[DashboardSession | Problem]:
    """Who is signed in

     The signed-in GitHub user, their account and token id, and the CSRF token to send as
    `X-CSRF-Token` with every dashboard request that changes something. Right after a
    sign-in that created the account, `new_token` carries its bearer token: in that one
    response only, because the server keeps only its hash.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DashboardSession | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> DashboardSession | Problem | None:
    """Who is signed in

     The signed-in GitHub user, their account and token id, and the CSRF token to send as
    `X-CSRF-Token` with every dashboard request that changes something. Right after a
    sign-in that created the account, `new_token` carries its bearer token: in that one
    response only, because the server keeps only its hash.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DashboardSession | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
