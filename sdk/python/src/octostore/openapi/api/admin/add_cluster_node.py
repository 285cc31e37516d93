from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.add_cluster_node_request import AddClusterNodeRequest
from ...models.cluster_info import ClusterInfo
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: AddClusterNodeRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/admin/cluster/nodes",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
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
) -> Response[ClusterInfo | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: AddClusterNodeRequest,
) -> Response[ClusterInfo | Problem]:
    """Add a voter

     Adds a voter to the cluster's configuration (or updates its raft address), through
    the leader. Start the new node first with its own `CLUSTER_NODE_ID` and
    `CLUSTER_RAFT_ADDR` and no `CLUSTER_PEERS`; it catches up from a snapshot and the
    log. Add one node at a time. Answers the cluster as it is afterwards.

    Args:
        body (AddClusterNodeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterInfo | Problem]
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
    client: AuthenticatedClient,
    body: AddClusterNodeRequest,
) -> ClusterInfo | Problem | None:
    """Add a voter

     Adds a voter to the cluster's configuration (or updates its raft address), through
    the leader. Start the new node first with its own `CLUSTER_NODE_ID` and
    `CLUSTER_RAFT_ADDR` and no `CLUSTER_PEERS`; it catches up from a snapshot and the
    log. Add one node at a time. Answers the cluster as it is afterwards.

    Args:
        body (AddClusterNodeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterInfo | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: AddClusterNodeRequest,
) -> Response[ClusterInfo | Problem]:
    """Add a voter

     Adds a voter to the cluster's configuration (or updates its raft address), through
    the leader. Start the new node first with its own `CLUSTER_NODE_ID` and
    `CLUSTER_RAFT_ADDR` and no `CLUSTER_PEERS`; it catches up from a snapshot and the
    log. Add one node at a time. Answers the cluster as it is afterwards.

    Args:
        body (AddClusterNodeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterInfo | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: AddClusterNodeRequest,
) -> ClusterInfo | Problem | None:
    """Add a voter

     Adds a voter to the cluster's configuration (or updates its raft address), through
    the leader. Start the new node first with its own `CLUSTER_NODE_ID` and
    `CLUSTER_RAFT_ADDR` and no `CLUSTER_PEERS`; it catches up from a snapshot and the
    log. Add one node at a time. Answers the cluster as it is afterwards.

    Args:
        body (AddClusterNodeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterInfo | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
