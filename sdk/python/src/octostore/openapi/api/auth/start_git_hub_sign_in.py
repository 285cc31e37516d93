from http import HTTPStatus
from typing import Any, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/auth/github",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem:
    if response.status_code == 302:
        response_302 = cast(Any, None)
        return response_302

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem]:
    """Start signing in with GitHub

     Redirects the browser to GitHub's authorize page (`GITHUB_BASE_URL/login/oauth/authorize`)
    with the configured exact `redirect_uri`, a fresh single-use `state` (256 random bits,
    valid for 10 minutes) and a PKCE S256 `code_challenge`. The server keeps nothing per
    sign-in: the state, the PKCE verifier and the issue time travel in the
    `__Host-octostore_oauth` cookie (HttpOnly, Secure, SameSite=Lax), sealed with
    AES-256-GCM under a key only the server holds, so the browser can read or change
    none of it. No scope is requested: the public profile is all OctoStore reads.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | None:
    """Start signing in with GitHub

     Redirects the browser to GitHub's authorize page (`GITHUB_BASE_URL/login/oauth/authorize`)
    with the configured exact `redirect_uri`, a fresh single-use `state` (256 random bits,
    valid for 10 minutes) and a PKCE S256 `code_challenge`. The server keeps nothing per
    sign-in: the state, the PKCE verifier and the issue time travel in the
    `__Host-octostore_oauth` cookie (HttpOnly, Secure, SameSite=Lax), sealed with
    AES-256-GCM under a key only the server holds, so the browser can read or change
    none of it. No scope is requested: the public profile is all OctoStore reads.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Problem]:
    """Start signing in with GitHub

     Redirects the browser to GitHub's authorize page (`GITHUB_BASE_URL/login/oauth/authorize`)
    with the configured exact `redirect_uri`, a fresh single-use `state` (256 random bits,
    valid for 10 minutes) and a PKCE S256 `code_challenge`. The server keeps nothing per
    sign-in: the state, the PKCE verifier and the issue time travel in the
    `__Host-octostore_oauth` cookie (HttpOnly, Secure, SameSite=Lax), sealed with
    AES-256-GCM under a key only the server holds, so the browser can read or change
    none of it. No scope is requested: the public profile is all OctoStore reads.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Any | Problem | None:
    """Start signing in with GitHub

     Redirects the browser to GitHub's authorize page (`GITHUB_BASE_URL/login/oauth/authorize`)
    with the configured exact `redirect_uri`, a fresh single-use `state` (256 random bits,
    valid for 10 minutes) and a PKCE S256 `code_challenge`. The server keeps nothing per
    sign-in: the state, the PKCE verifier and the issue time travel in the
    `__Host-octostore_oauth` cookie (HttpOnly, Secure, SameSite=Lax), sealed with
    AES-256-GCM under a key only the server holds, so the browser can read or change
    none of it. No scope is requested: the public profile is all OctoStore reads.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
