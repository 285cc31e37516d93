from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.create_token_request import CreateTokenRequest
from ...models.issued_token import IssuedToken
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    account_id: str,
    *,
    body: CreateTokenRequest | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/accounts/{account_id}/tokens".format(
            account_id=quote(str(account_id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> IssuedToken | Problem:
    if response.status_code == 201:
        response_201 = IssuedToken.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

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
) -> Response[IssuedToken | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    account_id: str,
    *,
    client: AuthenticatedClient,
    body: CreateTokenRequest | Unset = UNSET,
) -> Response[IssuedToken | Problem]:
    """Issue another token for an account

     Each token is its own holder identity, so several services of one account contend
    with each other for the account's locks. The body is optional: an empty body or `{}`
    issues a token without a label; `{"name":"billing-worker"}` labels it (shown in the
    token list). An account has at most `MAX_TOKENS_PER_ACCOUNT` live tokens (default
    100); past that the answer is 409 `token_limit_exceeded`.

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        body (CreateTokenRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[IssuedToken | Problem]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    account_id: str,
    *,
    client: AuthenticatedClient,
    body: CreateTokenRequest | Unset = UNSET,
) -> IssuedToken | Problem | None:
    """Issue another token for an account

     Each token is its own holder identity, so several services of one account contend
    with each other for the account's locks. The body is optional: an empty body or `{}`
    issues a token without a label; `{"name":"billing-worker"}` labels it (shown in the
    token list). An account has at most `MAX_TOKENS_PER_ACCOUNT` live tokens (default
    100); past that the answer is 409 `token_limit_exceeded`.

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        body (CreateTokenRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        IssuedToken | Problem
    """

    return sync_detailed(
        account_id=account_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    account_id: str,
    *,
    client: AuthenticatedClient,
    body: CreateTokenRequest | Unset = UNSET,
) -> Response[IssuedToken | Problem]:
    """Issue another token for an account

     Each token is its own holder identity, so several services of one account contend
    with each other for the account's locks. The body is optional: an empty body or `{}`
    issues a token without a label; `{"name":"billing-worker"}` labels it (shown in the
    token list). An account has at most `MAX_TOKENS_PER_ACCOUNT` live tokens (default
    100); past that the answer is 409 `token_limit_exceeded`.

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        body (CreateTokenRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[IssuedToken | Problem]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    account_id: str,
    *,
    client: AuthenticatedClient,
    body: CreateTokenRequest | Unset = UNSET,
) -> IssuedToken | Problem | None:
    """Issue another token for an account

     Each token is its own holder identity, so several services of one account contend
    with each other for the account's locks. The body is optional: an empty body or `{}`
    issues a token without a label; `{"name":"billing-worker"}` labels it (shown in the
    token list). An account has at most `MAX_TOKENS_PER_ACCOUNT` live tokens (default
    100); past that the answer is 409 `token_limit_exceeded`.

    Args:
        account_id (str):  Example: acc_3kq9v7x2m4pz.
        body (CreateTokenRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        IssuedToken | Problem
    """

    return (
        await asyncio_detailed(
            account_id=account_id,
            client=client,
            body=body,
        )
    ).parsed
