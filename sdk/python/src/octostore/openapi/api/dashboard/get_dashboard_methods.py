from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.dashboard_methods import DashboardMethods
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/dashboard/methods",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DashboardMethods | Problem:
    if response.status_code == 200:
        response_200 = DashboardMethods.from_dict(response.json())

        return response_200

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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DashboardMethods | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[DashboardMethods | Problem]:
    """How the dashboard can be signed in to

     Which sign-in methods this server offers, so the page shows the right buttons:
    GitHub when `GITHUB_CLIENT_ID` is set, a pasted account token always, and the
    operator view when `ADMIN_KEY` is set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DashboardMethods | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> DashboardMethods | Problem | None:
    """How the dashboard can be signed in to

     Which sign-in methods this server offers, so the page shows the right buttons:
    GitHub when `GITHUB_CLIENT_ID` is set, a pasted account token always, and the
    operator view when `ADMIN_KEY` is set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DashboardMethods | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[DashboardMethods | Problem]:
    """How the dashboard can be signed in to

     Which sign-in methods this server offers, so the page shows the right buttons:
    GitHub when `GITHUB_CLIENT_ID` is set, a pasted account token always, and the
    operator view when `ADMIN_KEY` is set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DashboardMethods | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> DashboardMethods | Problem | None:
    """How the dashboard can be signed in to

     Which sign-in methods this server offers, so the page shows the right buttons:
    GitHub when `GITHUB_CLIENT_ID` is set, a pasted account token always, and the
    operator view when `ADMIN_KEY` is set.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DashboardMethods | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
