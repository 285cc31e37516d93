"""OctoStore: leader election and distributed locking as a service.

    from octostore import Client

    client = Client("http://127.0.0.1:3000", token)
    with client.lock("nightly-report") as lease:
        storage.write(report, fencing_token=lease.fencing_token)

`Client` and `Election` are synchronous (a thread renews each lease); `AsyncClient` and
`AsyncElection` are their asyncio counterparts. The wire client generated from the
OpenAPI document is `octostore.openapi`. Errors are the typed exceptions in
`octostore.errors`, re-exported here.
"""

from ._core import Held, Holder, Leader, LockState, PrefixChanges
from ._version import __version__
from .aio import AsyncClient, AsyncElection, AsyncLease, AsyncSemaphore, AsyncSession
from .client import (
    Client,
    Election,
    Lease,
    Semaphore,
    Session,
    release_all,
    release_on_signals,
)
from .errors import (
    AccountExists,
    Conflict,
    InvalidLockName,
    InvalidRequest,
    InvalidTTL,
    LeaseNotCurrent,
    LockHeld,
    LockLimitExceeded,
    LockLost,
    LockTimeout,
    MaxHoldersMismatch,
    MethodNotAllowed,
    NotFound,
    OctoStoreError,
    PayloadTooLarge,
    ProblemError,
    ProtocolError,
    RateLimited,
    ServerError,
    SessionEnded,
    SessionLimitExceeded,
    SessionLost,
    SessionMismatch,
    SessionNotFound,
    TransportError,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

__all__ = [
    "AccountExists",
    "AsyncClient",
    "AsyncElection",
    "AsyncLease",
    "AsyncSemaphore",
    "AsyncSession",
    "Client",
    "Conflict",
    "Election",
    "Held",
    "Holder",
    "InvalidLockName",
    "InvalidRequest",
    "InvalidTTL",
    "Leader",
    "Lease",
    "LeaseNotCurrent",
    "LockHeld",
    "LockLimitExceeded",
    "LockLost",
    "LockState",
    "LockTimeout",
    "MaxHoldersMismatch",
    "MethodNotAllowed",
    "NotFound",
    "OctoStoreError",
    "PayloadTooLarge",
    "PrefixChanges",
    "ProblemError",
    "ProtocolError",
    "RateLimited",
    "Semaphore",
    "ServerError",
    "Session",
    "SessionEnded",
    "SessionLimitExceeded",
    "SessionLost",
    "SessionMismatch",
    "SessionNotFound",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "__version__",
    "release_all",
    "release_on_signals",
]
