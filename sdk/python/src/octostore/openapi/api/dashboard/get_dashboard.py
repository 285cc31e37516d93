from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/dashboard",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | str:
    if response.status_code == 200:
        response_200 = response.text
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

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Problem | str]:
    """The dashboard page, served from the binary

     One HTML page (its CSS and JavaScript inline, no outside host): the signed-in user,
    a new token once, `curl` lines, rotate, the account's active locks refreshed live,
    sign out. Signed out, it offers "Sign in with GitHub" when GitHub sign-in is
    configured and, always, signing in by pasting an account token; with `ADMIN_KEY`
    set, also the operator view (paste the admin key).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Problem | str | None:
    """The dashboard page, served from the binary

     One HTML page (its CSS and JavaScript inline, no outside host): the signed-in user,
    a new token once, `curl` lines, rotate, the account's active locks refreshed live,
    sign out. Signed out, it offers "Sign in with GitHub" when GitHub sign-in is
    configured and, always, signing in by pasting an account token; with `ADMIN_KEY`
    set, also the operator view (paste the admin key).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Problem | str]:
    """The dashboard page, served from the binary

     One HTML page (its CSS and JavaScript inline, no outside host): the signed-in user,
    a new token once, `curl` lines, rotate, the account's active locks refreshed live,
    sign out. Signed out, it offers "Sign in with GitHub" when GitHub sign-in is
    configured and, always, signing in by pasting an account token; with `ADMIN_KEY`
    set, also the operator view (paste the admin key).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | str]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Problem | str | None:
    """The dashboard page, served from the binary

     One HTML page (its CSS and JavaScript inline, no outside host): the signed-in user,
    a new token once, `curl` lines, rotate, the account's active locks refreshed live,
    sign out. Signed out, it offers "Sign in with GitHub" when GitHub sign-in is
    configured and, always, signing in by pasting an account token; with `ADMIN_KEY`
    set, also the operator view (paste the admin key).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | str
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
