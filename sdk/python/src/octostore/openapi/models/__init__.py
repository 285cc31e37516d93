"""Contains all the data models used in inputs/outputs"""

from .account import Account
from .account_list import AccountList
from .acquire_request import AcquireRequest
from .acquire_result import AcquireResult
from .acquire_result_status import AcquireResultStatus
from .add_cluster_node_request import AddClusterNodeRequest
from .admin_sign_in import AdminSignIn
from .cluster_info import ClusterInfo
from .cluster_node import ClusterNode
from .cluster_node_state import ClusterNodeState
from .cluster_node_suffrage import ClusterNodeSuffrage
from .create_account_request import CreateAccountRequest
from .create_session_request import CreateSessionRequest
from .create_token_request import CreateTokenRequest
from .created_account import CreatedAccount
from .dashboard_methods import DashboardMethods
from .dashboard_session import DashboardSession
from .dashboard_session_method import DashboardSessionMethod
from .force_release_result import ForceReleaseResult
from .get_lock_consistency import GetLockConsistency
from .health import Health
from .health_status import HealthStatus
from .issued_token import IssuedToken
from .list_locks_consistency import ListLocksConsistency
from .lock_holder import LockHolder
from .lock_list import LockList
from .lock_status import LockStatus
from .lock_status_status import LockStatusStatus
from .operator_session import OperatorSession
from .problem import Problem
from .problem_code import ProblemCode
from .ready import Ready
from .ready_status import ReadyStatus
from .release_request import ReleaseRequest
from .release_result import ReleaseResult
from .release_result_status import ReleaseResultStatus
from .renew_request import RenewRequest
from .renew_result import RenewResult
from .renew_result_status import RenewResultStatus
from .session_result import SessionResult
from .session_status import SessionStatus
from .storage_state import StorageState
from .storage_state_state import StorageStateState
from .token_info import TokenInfo
from .token_list import TokenList
from .token_sign_in import TokenSignIn

__all__ = (
    "Account",
    "AccountList",
    "AcquireRequest",
    "AcquireResult",
    "AcquireResultStatus",
    "AddClusterNodeRequest",
    "AdminSignIn",
    "ClusterInfo",
    "ClusterNode",
    "ClusterNodeState",
    "ClusterNodeSuffrage",
    "CreateAccountRequest",
    "CreateSessionRequest",
    "CreateTokenRequest",
    "CreatedAccount",
    "DashboardMethods",
    "DashboardSession",
    "DashboardSessionMethod",
    "ForceReleaseResult",
    "GetLockConsistency",
    "Health",
    "HealthStatus",
    "IssuedToken",
    "ListLocksConsistency",
    "LockHolder",
    "LockList",
    "LockStatus",
    "LockStatusStatus",
    "OperatorSession",
    "Problem",
    "ProblemCode",
    "Ready",
    "ReadyStatus",
    "ReleaseRequest",
    "ReleaseResult",
    "ReleaseResultStatus",
    "RenewRequest",
    "RenewResult",
    "RenewResultStatus",
    "SessionResult",
    "SessionStatus",
    "StorageState",
    "StorageStateState",
    "TokenInfo",
    "TokenList",
    "TokenSignIn",
)
