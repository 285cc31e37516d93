from enum import StrEnum


class ProblemCode(StrEnum):
    ACCOUNT_EXISTS = "account_exists"
    ACCOUNT_NOT_FOUND = "account_not_found"
    ADMIN_DISABLED = "admin_disabled"
    FORBIDDEN = "forbidden"
    GITHUB_UNAVAILABLE = "github_unavailable"
    HEADERS_TOO_LARGE = "headers_too_large"
    INTERNAL = "internal"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_LIMIT = "invalid_limit"
    INVALID_LOCK_NAME = "invalid_lock_name"
    INVALID_REQUEST = "invalid_request"
    INVALID_TTL = "invalid_ttl"
    LEASE_NOT_CURRENT = "lease_not_current"
    LOCK_LIMIT_EXCEEDED = "lock_limit_exceeded"
    MAX_HOLDERS_MISMATCH = "max_holders_mismatch"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    NO_LEADER = "no_leader"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    SESSION_LIMIT_EXCEEDED = "session_limit_exceeded"
    SESSION_MISMATCH = "session_mismatch"
    SESSION_NOT_FOUND = "session_not_found"
    SIGNIN_FAILED = "signin_failed"
    SIGNIN_NOT_CONFIGURED = "signin_not_configured"
    TOKEN_LIMIT_EXCEEDED = "token_limit_exceeded"
    TOKEN_NOT_FOUND = "token_not_found"
    TOO_MANY_WAITERS = "too_many_waiters"
    UNAUTHORIZED = "unauthorized"
    UNAVAILABLE = "unavailable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"

    def __str__(self) -> str:
        return str(self.value)
