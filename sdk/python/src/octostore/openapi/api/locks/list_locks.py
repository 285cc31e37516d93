from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.list_locks_consistency import ListLocksConsistency
from ...models.lock_list import LockList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    prefix: str | Unset = UNSET,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

    params["prefix"] = prefix

    params["index"] = index

    params["wait_seconds"] = wait_seconds

    json_consistency: str | Unset = UNSET
    if not isinstance(consistency, Unset):
        json_consistency = consistency.value

    params["consistency"] = json_consistency

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/locks",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> LockList | Problem:
    if response.status_code == 200:
        response_200 = LockList.from_dict(response.json())

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
) -> Response[LockList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    prefix: str | Unset = UNSET,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> Response[LockList | Problem]:
    """The caller's account's active locks, or those under a prefix, or watch a prefix

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    **Prefix list**: with `prefix`, only the locks whose name starts with it, one entry
    per lock with every holder in `holders` (a semaphore's too), including locks kept
    by a lock-delay (`status` `held`, `holder_id` null, `available_at` set). The answer
    carries `index`: every change under the prefix so far is at or below it. Paged
    like the plain list.

    **Prefix watch**: with `prefix`, `index` and `wait_seconds`, the request returns as
    soon as any lock under the prefix changed past `index` (granted, released,
    expired, its metadata changed), or when the wait ends. The answer is `index`, the
    new index to watch from, and `changes`: every lock under the prefix whose revision
    is above the `index` sent, by name, a released or expired one with `status` `free`
    (`locks` is empty). Coming back with the `index` you got never misses a change.
    When the server no longer remembers every lock freed since your `index` (it keeps
    the last 10,000 freed locks), `complete` is false and `changes` holds every lock held
    under the prefix: any lock you knew that is not in it is free. A watch counts
    against the waiting requests' bounds (429 `too_many_waiters`).

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
        prefix (str | Unset):
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (ListLocksConsistency | Unset):  Default: ListLocksConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LockList | Problem]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        limit=limit,
        prefix=prefix,
        index=index,
        wait_seconds=wait_seconds,
        consistency=consistency,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    prefix: str | Unset = UNSET,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> LockList | Problem | None:
    """The caller's account's active locks, or those under a prefix, or watch a prefix

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    **Prefix list**: with `prefix`, only the locks whose name starts with it, one entry
    per lock with every holder in `holders` (a semaphore's too), including locks kept
    by a lock-delay (`status` `held`, `holder_id` null, `available_at` set). The answer
    carries `index`: every change under the prefix so far is at or below it. Paged
    like the plain list.

    **Prefix watch**: with `prefix`, `index` and `wait_seconds`, the request returns as
    soon as any lock under the prefix changed past `index` (granted, released,
    expired, its metadata changed), or when the wait ends. The answer is `index`, the
    new index to watch from, and `changes`: every lock under the prefix whose revision
    is above the `index` sent, by name, a released or expired one with `status` `free`
    (`locks` is empty). Coming back with the `index` you got never misses a change.
    When the server no longer remembers every lock freed since your `index` (it keeps
    the last 10,000 freed locks), `complete` is false and `changes` holds every lock held
    under the prefix: any lock you knew that is not in it is free. A watch counts
    against the waiting requests' bounds (429 `too_many_waiters`).

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
        prefix (str | Unset):
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (ListLocksConsistency | Unset):  Default: ListLocksConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LockList | Problem
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        limit=limit,
        prefix=prefix,
        index=index,
        wait_seconds=wait_seconds,
        consistency=consistency,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    prefix: str | Unset = UNSET,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> Response[LockList | Problem]:
    """The caller's account's active locks, or those under a prefix, or watch a prefix

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    **Prefix list**: with `prefix`, only the locks whose name starts with it, one entry
    per lock with every holder in `holders` (a semaphore's too), including locks kept
    by a lock-delay (`status` `held`, `holder_id` null, `available_at` set). The answer
    carries `index`: every change under the prefix so far is at or below it. Paged
    like the plain list.

    **Prefix watch**: with `prefix`, `index` and `wait_seconds`, the request returns as
    soon as any lock under the prefix changed past `index` (granted, released,
    expired, its metadata changed), or when the wait ends. The answer is `index`, the
    new index to watch from, and `changes`: every lock under the prefix whose revision
    is above the `index` sent, by name, a released or expired one with `status` `free`
    (`locks` is empty). Coming back with the `index` you got never misses a change.
    When the server no longer remembers every lock freed since your `index` (it keeps
    the last 10,000 freed locks), `complete` is false and `changes` holds every lock held
    under the prefix: any lock you knew that is not in it is free. A watch counts
    against the waiting requests' bounds (429 `too_many_waiters`).

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
        prefix (str | Unset):
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (ListLocksConsistency | Unset):  Default: ListLocksConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LockList | Problem]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        limit=limit,
        prefix=prefix,
        index=index,
        wait_seconds=wait_seconds,
        consistency=consistency,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    prefix: str | Unset = UNSET,
    index: int | Unset = UNSET,
    wait_seconds: int | Unset = UNSET,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> LockList | Problem | None:
    """The caller's account's active locks, or those under a prefix, or watch a prefix

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    **Prefix list**: with `prefix`, only the locks whose name starts with it, one entry
    per lock with every holder in `holders` (a semaphore's too), including locks kept
    by a lock-delay (`status` `held`, `holder_id` null, `available_at` set). The answer
    carries `index`: every change under the prefix so far is at or below it. Paged
    like the plain list.

    **Prefix watch**: with `prefix`, `index` and `wait_seconds`, the request returns as
    soon as any lock under the prefix changed past `index` (granted, released,
    expired, its metadata changed), or when the wait ends. The answer is `index`, the
    new index to watch from, and `changes`: every lock under the prefix whose revision
    is above the `index` sent, by name, a released or expired one with `status` `free`
    (`locks` is empty). Coming back with the `index` you got never misses a change.
    When the server no longer remembers every lock freed since your `index` (it keeps
    the last 10,000 freed locks), `complete` is false and `changes` holds every lock held
    under the prefix: any lock you knew that is not in it is free. A watch counts
    against the waiting requests' bounds (429 `too_many_waiters`).

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
        prefix (str | Unset):
        index (int | Unset):
        wait_seconds (int | Unset): How long the server may hold the request open waiting (0 =
            answer at once). Example: 30.
        consistency (ListLocksConsistency | Unset):  Default: ListLocksConsistency.LINEARIZABLE.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LockList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            limit=limit,
            prefix=prefix,
            index=index,
            wait_seconds=wait_seconds,
            consistency=consistency,
        )
    ).parsed
