from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.get_lock_consistency import GetLockConsistency
from ...models.lock_status import LockStatus
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    name: str,
    *,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: GetLockConsistency | Unset = GetLockConsistency.LINEARIZABLE,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["index"] = index

    params["wait_seconds"] = wait_seconds

    json_consistency: str | Unset = UNSET
    if not isinstance(consistency, Unset):
        json_consistency = consistency.value

    params["consistency"] = json_consistency

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/locks/{name}".format(
            name=quote(str(name), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> LockStatus | Problem:
    if response.status_code == 200:
        response_200 = LockStatus.from_dict(response.json())

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
) -> Response[LockStatus | Problem]:
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
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: GetLockConsistency | Unset = GetLockConsistency.LINEARIZABLE,
) -> Response[LockStatus | Problem]:
    """Status of one lock, or watch it

     A lock that was never taken, was released or has expired is `free`.

    **Watch** (a long-poll in the style of Consul's blocking queries): pass the
    `revision` you last saw as `index` and a `wait_seconds`. The request returns as soon
    as the lock's revision is greater than `index`, or when the wait ends (then with the
    unchanged state). A watcher that comes back with the last revision it saw never
    misses a change: if the lock changed in between, the call returns at once with the
    current state.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (GetLockConsistency | Unset):  Default: GetLockConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LockStatus | Problem]
    """

    kwargs = _get_kwargs(
        name=name,
        index=index,
        wait_seconds=wait_seconds,
        consistency=consistency,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: GetLockConsistency | Unset = GetLockConsistency.LINEARIZABLE,
) -> LockStatus | Problem | None:
    """Status of one lock, or watch it

     A lock that was never taken, was released or has expired is `free`.

    **Watch** (a long-poll in the style of Consul's blocking queries): pass the
    `revision` you last saw as `index` and a `wait_seconds`. The request returns as soon
    as the lock's revision is greater than `index`, or when the wait ends (then with the
    unchanged state). A watcher that comes back with the last revision it saw never
    misses a change: if the lock changed in between, the call returns at once with the
    current state.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (GetLockConsistency | Unset):  Default: GetLockConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LockStatus | Problem
    """

    return sync_detailed(
        name=name,
        client=client,
        index=index,
        wait_seconds=wait_seconds,
        consistency=consistency,
    ).parsed


async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: GetLockConsistency | Unset = GetLockConsistency.LINEARIZABLE,
) -> Response[LockStatus | Problem]:
    """Status of one lock, or watch it

     A lock that was never taken, was released or has expired is `free`.

    **Watch** (a long-poll in the style of Consul's blocking queries): pass the
    `revision` you last saw as `index` and a `wait_seconds`. The request returns as soon
    as the lock's revision is greater than `index`, or when the wait ends (then with the
    unchanged state). A watcher that comes back with the last revision it saw never
    misses a change: if the lock changed in between, the call returns at once with the
    current state.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (GetLockConsistency | Unset):  Default: GetLockConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LockStatus | Problem]
    """

    kwargs = _get_kwargs(
        name=name,
        index=index,
        wait_seconds=wait_seconds,
        consistency=consistency,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: GetLockConsistency | Unset = GetLockConsistency.LINEARIZABLE,
) -> LockStatus | Problem | None:
    """Status of one lock, or watch it

     A lock that was never taken, was released or has expired is `free`.

    **Watch** (a long-poll in the style of Consul's blocking queries): pass the
    `revision` you last saw as `index` and a `wait_seconds`. The request returns as soon
    as the lock's revision is greater than `index`, or when the wait ends (then with the
    unchanged state). A watcher that comes back with the last revision it saw never
    misses a change: if the lock changed in between, the call returns at once with the
    current state.

    Args:
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (GetLockConsistency | Unset):  Default: GetLockConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LockStatus | Problem
    """

    return (
        await asyncio_detailed(
            name=name,
            client=client,
            index=index,
            wait_seconds=wait_seconds,
            consistency=consistency,
        )
    ).parsed
