from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.cluster_info import ClusterInfo
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    node_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/admin/cluster/nodes/{node_id}".format(
            node_id=quote(str(node_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ClusterInfo | Problem:
    if response.status_code == 200:
        response_200 = ClusterInfo.from_dict(response.json())

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
) -> Response[ClusterInfo | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    node_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ClusterInfo | Problem]:
    """Remove a node

     Removes a node from the configuration, through the leader. Removing the leader
    makes it step down and the others elect a new one. Stop the removed node after
    this answers; do not let it rejoin with its old data.

    Args:
        node_id (str): A cluster node's id (`CLUSTER_NODE_ID`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterInfo | Problem]
    """

    kwargs = _get_kwargs(
        node_id=node_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    node_id: str,
    *,
    client: AuthenticatedClient,
) -> ClusterInfo | Problem | None:
    """Remove a node

     Removes a node from the configuration, through the leader. Removing the leader
    makes it step down and the others elect a new one. Stop the removed node after
    this answers; do not let it rejoin with its old data.

    Args:
        node_id (str): A cluster node's id (`CLUSTER_NODE_ID`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterInfo | Problem
    """

    return sync_detailed(
        node_id=node_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    node_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ClusterInfo | Problem]:
    """Remove a node

     Removes a node from the configuration, through the leader. Removing the leader
    makes it step down and the others elect a new one. Stop the removed node after
    this answers; do not let it rejoin with its old data.

    Args:
        node_id (str): A cluster node's id (`CLUSTER_NODE_ID`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterInfo | Problem]
    """

    kwargs = _get_kwargs(
        node_id=node_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    node_id: str,
    *,
    client: AuthenticatedClient,
) -> ClusterInfo | Problem | None:
    """Remove a node

     Removes a node from the configuration, through the leader. Removing the leader
    makes it step down and the others elect a new one. Stop the removed node after
    this answers; do not let it rejoin with its old data.

    Args:
        node_id (str): A cluster node's id (`CLUSTER_NODE_ID`).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterInfo | Problem
    """

    return (
        await asyncio_detailed(
            node_id=node_id,
            client=client,
        )
    ).parsed
