from http import HTTPStatus
from io import BytesIO
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import File, Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/admin/backup",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> File | Problem:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    response_default = Problem.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[File | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[File | Problem]:
    """A consistent copy of the database, taken online

     Streams a consistent SQLite file of the whole state (accounts, token hashes,
    unreleased leases, the fencing high-water mark), written with `VACUUM INTO` while the
    server keeps serving. Restore it by stopping the server, replacing the database file
    (and removing its `-wal` and `-shm` files) and starting it again; fencing tokens
    issued after the restore exceed every token issued before it (the fencing floor).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> File | Problem | None:
    """A consistent copy of the database, taken online

     Streams a consistent SQLite file of the whole state (accounts, token hashes,
    unreleased leases, the fencing high-water mark), written with `VACUUM INTO` while the
    server keeps serving. Restore it by stopping the server, replacing the database file
    (and removing its `-wal` and `-shm` files) and starting it again; fencing tokens
    issued after the restore exceed every token issued before it (the fencing floor).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[File | Problem]:
    """A consistent copy of the database, taken online

     Streams a consistent SQLite file of the whole state (accounts, token hashes,
    unreleased leases, the fencing high-water mark), written with `VACUUM INTO` while the
    server keeps serving. Restore it by stopping the server, replacing the database file
    (and removing its `-wal` and `-shm` files) and starting it again; fencing tokens
    issued after the restore exceed every token issued before it (the fencing floor).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> File | Problem | None:
    """A consistent copy of the database, taken online

     Streams a consistent SQLite file of the whole state (accounts, token hashes,
    unreleased leases, the fencing high-water mark), written with `VACUUM INTO` while the
    server keeps serving. Restore it by stopping the server, replacing the database file
    (and removing its `-wal` and `-shm` files) and starting it again; fencing tokens
    issued after the restore exceed every token issued before it (the fencing floor).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
