from http import HTTPStatus
from typing import Any, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
    error_uri: str | Unset = UNSET,
    field_host_octostore_oauth: str | Unset = UNSET,
) -> dict[str, Any]:

    cookies = {}
    if field_host_octostore_oauth is not UNSET:
        cookies["__Host-octostore_oauth"] = field_host_octostore_oauth

    params: dict[str, Any] = {}

    params["code"] = code

    params["state"] = state

    params["error"] = error

    params["error_description"] = error_description

    params["error_uri"] = error_uri

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/auth/github/callback",
        "params": params,
        "cookies": cookies,
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

    if response.status_code == 502:
        response_502 = Problem.from_dict(response.json())

        return response_502

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
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
    error_uri: str | Unset = UNSET,
    field_host_octostore_oauth: str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Finish signing in with GitHub

     GitHub sends the browser here. The browser's `__Host-octostore_oauth` cookie must be
    one this server sealed, unchanged, less than 10 minutes ago, for this `state`, and not
    seen back yet (a state works once; once used, the cookie is cleared whatever the
    outcome). Anything else is `400 signin_failed`, before GitHub is asked. The code is
    exchanged with the PKCE
    verifier, the GitHub user (`id`, `login`, `avatar_url`) is read from
    `GITHUB_API_URL/user`, and GitHub's access token is then dropped, never stored.

    The account is found by the GitHub user's numeric id (a login can change hands), or
    created with its first token; no account name can stand in the way (see
    `github_login` in `GET /admin/accounts`). The browser gets a dashboard session cookie and lands on
    `/dashboard`, which shows a new account's token once.

    Args:
        code (str | Unset):
        state (str | Unset):
        error (str | Unset):
        error_description (str | Unset):
        error_uri (str | Unset):
        field_host_octostore_oauth (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        code=code,
        state=state,
        error=error,
        error_description=error_description,
        error_uri=error_uri,
        field_host_octostore_oauth=field_host_octostore_oauth,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
    error_uri: str | Unset = UNSET,
    field_host_octostore_oauth: str | Unset = UNSET,
) -> Any | Problem | None:
    """Finish signing in with GitHub

     GitHub sends the browser here. The browser's `__Host-octostore_oauth` cookie must be
    one this server sealed, unchanged, less than 10 minutes ago, for this `state`, and not
    seen back yet (a state works once; once used, the cookie is cleared whatever the
    outcome). Anything else is `400 signin_failed`, before GitHub is asked. The code is
    exchanged with the PKCE
    verifier, the GitHub user (`id`, `login`, `avatar_url`) is read from
    `GITHUB_API_URL/user`, and GitHub's access token is then dropped, never stored.

    The account is found by the GitHub user's numeric id (a login can change hands), or
    created with its first token; no account name can stand in the way (see
    `github_login` in `GET /admin/accounts`). The browser gets a dashboard session cookie and lands on
    `/dashboard`, which shows a new account's token once.

    Args:
        code (str | Unset):
        state (str | Unset):
        error (str | Unset):
        error_description (str | Unset):
        error_uri (str | Unset):
        field_host_octostore_oauth (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        client=client,
        code=code,
        state=state,
        error=error,
        error_description=error_description,
        error_uri=error_uri,
        field_host_octostore_oauth=field_host_octostore_oauth,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
    error_uri: str | Unset = UNSET,
    field_host_octostore_oauth: str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Finish signing in with GitHub

     GitHub sends the browser here. The browser's `__Host-octostore_oauth` cookie must be
    one this server sealed, unchanged, less than 10 minutes ago, for this `state`, and not
    seen back yet (a state works once; once used, the cookie is cleared whatever the
    outcome). Anything else is `400 signin_failed`, before GitHub is asked. The code is
    exchanged with the PKCE
    verifier, the GitHub user (`id`, `login`, `avatar_url`) is read from
    `GITHUB_API_URL/user`, and GitHub's access token is then dropped, never stored.

    The account is found by the GitHub user's numeric id (a login can change hands), or
    created with its first token; no account name can stand in the way (see
    `github_login` in `GET /admin/accounts`). The browser gets a dashboard session cookie and lands on
    `/dashboard`, which shows a new account's token once.

    Args:
        code (str | Unset):
        state (str | Unset):
        error (str | Unset):
        error_description (str | Unset):
        error_uri (str | Unset):
        field_host_octostore_oauth (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        code=code,
        state=state,
        error=error,
        error_description=error_description,
        error_uri=error_uri,
        field_host_octostore_oauth=field_host_octostore_oauth,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    code: str | Unset = UNSET,
    state: str | Unset = UNSET,
    error: str | Unset = UNSET,
    error_description: str | Unset = UNSET,
    error_uri: str | Unset = UNSET,
    field_host_octostore_oauth: str | Unset = UNSET,
) -> Any | Problem | None:
    """Finish signing in with GitHub

     GitHub sends the browser here. The browser's `__Host-octostore_oauth` cookie must be
    one this server sealed, unchanged, less than 10 minutes ago, for this `state`, and not
    seen back yet (a state works once; once used, the cookie is cleared whatever the
    outcome). Anything else is `400 signin_failed`, before GitHub is asked. The code is
    exchanged with the PKCE
    verifier, the GitHub user (`id`, `login`, `avatar_url`) is read from
    `GITHUB_API_URL/user`, and GitHub's access token is then dropped, never stored.

    The account is found by the GitHub user's numeric id (a login can change hands), or
    created with its first token; no account name can stand in the way (see
    `github_login` in `GET /admin/accounts`). The browser gets a dashboard session cookie and lands on
    `/dashboard`, which shows a new account's token once.

    Args:
        code (str | Unset):
        state (str | Unset):
        error (str | Unset):
        error_description (str | Unset):
        error_uri (str | Unset):
        field_host_octostore_oauth (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            code=code,
            state=state,
            error=error,
            error_description=error_description,
            error_uri=error_uri,
            field_host_octostore_oauth=field_host_octostore_oauth,
        )
    ).parsed
