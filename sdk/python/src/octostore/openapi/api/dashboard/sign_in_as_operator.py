from http import HTTPStatus
from typing import Any, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...models.admin_sign_in import AdminSignIn
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: AdminSignIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/dashboard/admin/sign-in",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
    body: AdminSignIn,
) -> Response[Any | Problem]:
    """Open the operator view with the admin key

     Exchanges the admin key, pasted into the page and sent in this body once, for a
    separate operator session cookie (`__Host-octostore_admin`: HttpOnly, Secure,
    SameSite=Strict, 15 minutes, kept only as a hash in the server's memory, so a
    restart ends it). Same-origin only; a wrong key gets 401 `unauthorized`, is logged
    like a wrong `X-Admin-Key` and is throttled per client address.

    Args:
        body (AdminSignIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
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
    body: AdminSignIn,
) -> Any | Problem | None:
    """Open the operator view with the admin key

     Exchanges the admin key, pasted into the page and sent in this body once, for a
    separate operator session cookie (`__Host-octostore_admin`: HttpOnly, Secure,
    SameSite=Strict, 15 minutes, kept only as a hash in the server's memory, so a
    restart ends it). Same-origin only; a wrong key gets 401 `unauthorized`, is logged
    like a wrong `X-Admin-Key` and is throttled per client address.

    Args:
        body (AdminSignIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: AdminSignIn,
) -> Response[Any | Problem]:
    """Open the operator view with the admin key

     Exchanges the admin key, pasted into the page and sent in this body once, for a
    separate operator session cookie (`__Host-octostore_admin`: HttpOnly, Secure,
    SameSite=Strict, 15 minutes, kept only as a hash in the server's memory, so a
    restart ends it). Same-origin only; a wrong key gets 401 `unauthorized`, is logged
    like a wrong `X-Admin-Key` and is throttled per client address.

    Args:
        body (AdminSignIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: AdminSignIn,
) -> Any | Problem | None:
    """Open the operator view with the admin key

     Exchanges the admin key, pasted into the page and sent in this body once, for a
    separate operator session cookie (`__Host-octostore_admin`: HttpOnly, Secure,
    SameSite=Strict, 15 minutes, kept only as a hash in the server's memory, so a
    restart ends it). Same-origin only; a wrong key gets 401 `unauthorized`, is logged
    like a wrong `X-Admin-Key` and is throttled per client address.

    Args:
        body (AdminSignIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
