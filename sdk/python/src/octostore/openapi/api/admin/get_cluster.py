from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.cluster_info import ClusterInfo
from ...models.problem import Problem
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/admin/cluster",
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
) -> Response[ClusterInfo | Problem]:
    """The cluster's nodes and leader, as this node sees them

     A cluster (three or five nodes of the same binary, see the README's "Running a
    cluster") answers every request on every node: a node that does not lead forwards
    it to the leader. Every answer of a cluster node carries `X-OctoStore-Node` (the
    node that served it) and `X-OctoStore-Leader` (the leader it knew, empty when
    none); a forwarded answer also carries `X-OctoStore-Via`, the node that forwarded
    it. While no leader is known, requests get 503 `no_leader` with `Retry-After`: a
    write that got it may or may not have been committed, and the same holder's retry
    (same token and `owner`) is safe.

    This operation is answered by the node asked, without forwarding. `state` and `last_index` are exact
    for the node that answers; the leader reports the others as `follower`, a follower
    knows only itself and the leader (`unknown` for the rest). `http_url` is the client
    URL a node recorded in the log when it last became leader (empty before that).
    404 `not_found` on a single node.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterInfo | Problem]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> ClusterInfo | Problem | None:
    """The cluster's nodes and leader, as this node sees them

     A cluster (three or five nodes of the same binary, see the README's "Running a
    cluster") answers every request on every node: a node that does not lead forwards
    it to the leader. Every answer of a cluster node carries `X-OctoStore-Node` (the
    node that served it) and `X-OctoStore-Leader` (the leader it knew, empty when
    none); a forwarded answer also carries `X-OctoStore-Via`, the node that forwarded
    it. While no leader is known, requests get 503 `no_leader` with `Retry-After`: a
    write that got it may or may not have been committed, and the same holder's retry
    (same token and `owner`) is safe.

    This operation is answered by the node asked, without forwarding. `state` and `last_index` are exact
    for the node that answers; the leader reports the others as `follower`, a follower
    knows only itself and the leader (`unknown` for the rest). `http_url` is the client
    URL a node recorded in the log when it last became leader (empty before that).
    404 `not_found` on a single node.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterInfo | Problem
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ClusterInfo | Problem]:
    """The cluster's nodes and leader, as this node sees them

     A cluster (three or five nodes of the same binary, see the README's "Running a
    cluster") answers every request on every node: a node that does not lead forwards
    it to the leader. Every answer of a cluster node carries `X-OctoStore-Node` (the
    node that served it) and `X-OctoStore-Leader` (the leader it knew, empty when
    none); a forwarded answer also carries `X-OctoStore-Via`, the node that forwarded
    it. While no leader is known, requests get 503 `no_leader` with `Retry-After`: a
    write that got it may or may not have been committed, and the same holder's retry
    (same token and `owner`) is safe.

    This operation is answered by the node asked, without forwarding. `state` and `last_index` are exact
    for the node that answers; the leader reports the others as `follower`, a follower
    knows only itself and the leader (`unknown` for the rest). `http_url` is the client
    URL a node recorded in the log when it last became leader (empty before that).
    404 `not_found` on a single node.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterInfo | Problem]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> ClusterInfo | Problem | None:
    """The cluster's nodes and leader, as this node sees them

     A cluster (three or five nodes of the same binary, see the README's "Running a
    cluster") answers every request on every node: a node that does not lead forwards
    it to the leader. Every answer of a cluster node carries `X-OctoStore-Node` (the
    node that served it) and `X-OctoStore-Leader` (the leader it knew, empty when
    none); a forwarded answer also carries `X-OctoStore-Via`, the node that forwarded
    it. While no leader is known, requests get 503 `no_leader` with `Retry-After`: a
    write that got it may or may not have been committed, and the same holder's retry
    (same token and `owner`) is safe.

    This operation is answered by the node asked, without forwarding. `state` and `last_index` are exact
    for the node that answers; the leader reports the others as `follower`, a follower
    knows only itself and the leader (`unknown` for the rest). `http_url` is the client
    URL a node recorded in the log when it last became leader (empty before that).
    404 `not_found` on a single node.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterInfo | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
