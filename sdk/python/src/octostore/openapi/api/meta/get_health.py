from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.health import Health
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/health",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Health | Problem:
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

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
) -> Response[Health | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Health | Problem]:
    """Liveness check, with the state of the storage

     200 whenever the process answers at all (liveness). `storage` says whether the
    database accepts writes now; when it does not, `reason` says why (a full or
    read-only disk, an I/O error, a database file replaced or removed under the running
    server). `version` is the server's release version (`(devel)` for a build that is
    not a release); every answer also carries it in `Server: octostore/<version>`.
    Readiness for writes is `GET /ready`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Health | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Health | Problem | None:
    """Liveness check, with the state of the storage

     200 whenever the process answers at all (liveness). `storage` says whether the
    database accepts writes now; when it does not, `reason` says why (a full or
    read-only disk, an I/O error, a database file replaced or removed under the running
    server). `version` is the server's release version (`(devel)` for a build that is
    not a release); every answer also carries it in `Server: octostore/<version>`.
    Readiness for writes is `GET /ready`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Health | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Health | Problem]:
    """Liveness check, with the state of the storage

     200 whenever the process answers at all (liveness). `storage` says whether the
    database accepts writes now; when it does not, `reason` says why (a full or
    read-only disk, an I/O error, a database file replaced or removed under the running
    server). `version` is the server's release version (`(devel)` for a build that is
    not a release); every answer also carries it in `Server: octostore/<version>`.
    Readiness for writes is `GET /ready`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Health | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Health | Problem | None:
    """Liveness check, with the state of the storage

     200 whenever the process answers at all (liveness). `storage` says whether the
    database accepts writes now; when it does not, `reason` says why (a full or
    read-only disk, an I/O error, a database file replaced or removed under the running
    server). `version` is the server's release version (`(devel)` for a build that is
    not a release); every answer also carries it in `Server: octostore/<version>`.
    Readiness for writes is `GET /ready`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Health | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
