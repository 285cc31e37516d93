from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.force_release_result import ForceReleaseResult
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    account_id: str,
    name: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/accounts/{account_id}/locks/{name}/release".format(
            account_id=quote(str(account_id), safe=""),
            name=quote(str(name), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ForceReleaseResult | Problem:
    if response.status_code == 200:
        response_200 = ForceReleaseResult.from_dict(response.json())

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
) -> Response[ForceReleaseResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    account_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
) -> Response[ForceReleaseResult | Problem]:
    """End a lock's current lease(s) at once (operator)

     Ends every current lease of the lock (all holders of a semaphore) and any
    lock-delay on it, as a clean release: each holder's next renew or release gets 409
    `lease_not_current`, and the next waiters in the lock's line are granted it at once,
    with new, larger fencing tokens. A free lock is not an error: `fencing_tokens` is
    then empty. Takes no body. Every call is logged (`lock force-released`, with the
    account, the lock name and the fencing tokens ended; never a lease id).

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ForceReleaseResult | Problem]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        name=name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    account_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
) -> ForceReleaseResult | Problem | None:
    """End a lock's current lease(s) at once (operator)

     Ends every current lease of the lock (all holders of a semaphore) and any
    lock-delay on it, as a clean release: each holder's next renew or release gets 409
    `lease_not_current`, and the next waiters in the lock's line are granted it at once,
    with new, larger fencing tokens. A free lock is not an error: `fencing_tokens` is
    then empty. Takes no body. Every call is logged (`lock force-released`, with the
    account, the lock name and the fencing tokens ended; never a lease id).

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ForceReleaseResult | Problem
    """

    return sync_detailed(
        account_id=account_id,
        name=name,
        client=client,
    ).parsed


async def asyncio_detailed(
    account_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
) -> Response[ForceReleaseResult | Problem]:
    """End a lock's current lease(s) at once (operator)

     Ends every current lease of the lock (all holders of a semaphore) and any
    lock-delay on it, as a clean release: each holder's next renew or release gets 409
    `lease_not_current`, and the next waiters in the lock's line are granted it at once,
    with new, larger fencing tokens. A free lock is not an error: `fencing_tokens` is
    then empty. Takes no body. Every call is logged (`lock force-released`, with the
    account, the lock name and the fencing tokens ended; never a lease id).

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ForceReleaseResult | Problem]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        name=name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    account_id: str,
    name: str,
    *,
    client: AuthenticatedClient,
) -> ForceReleaseResult | Problem | None:
    """End a lock's current lease(s) at once (operator)

     Ends every current lease of the lock (all holders of a semaphore) and any
    lock-delay on it, as a clean release: each holder's next renew or release gets 409
    `lease_not_current`, and the next waiters in the lock's line are granted it at once,
    with new, larger fencing tokens. A free lock is not an error: `fencing_tokens` is
    then empty. Takes no body. Every call is logged (`lock force-released`, with the
    account, the lock name and the fencing tokens ended; never a lease id).

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        name (str): 1 to 128 letters, digits, `.` and `-`, except the names `.` and `..`, which
            are
            path segments in a URL (clients and servers clean them out of the path). The
            pattern is `^[A-Za-z0-9.-]{1,128}$` without those two.
             Example: my-service.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ForceReleaseResult | Problem
    """

    return (
        await asyncio_detailed(
            account_id=account_id,
            name=name,
            client=client,
        )
    ).parsed
