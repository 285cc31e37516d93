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
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

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
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> Response[LockList | Problem]:
    """The caller's account's active locks

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
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
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> LockList | Problem | None:
    """The caller's account's active locks

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
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
        consistency=consistency,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> Response[LockList | Problem]:
    """The caller's account's active locks

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
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
        consistency=consistency,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 100,
    consistency: ListLocksConsistency | Unset = ListLocksConsistency.LINEARIZABLE,
) -> LockList | Problem | None:
    """The caller's account's active locks

     The unexpired leases in the caller's account, ordered by name, a page at a time
    (100 unless `limit` says otherwise). When more follow, `next_cursor` is set: pass
    it as `cursor` for the next page.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 100.
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
            consistency=consistency,
        )
    ).parsed
