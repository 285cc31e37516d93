/** Base class of every error this package throws; `code` is machine-readable. */
export class OctoStoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The fields of the server's RFC 9457 problem document. */
export interface ProblemFields {
  code: string;
  status: number;
  title?: string;
  detail?: string;
  request_id?: string;
}

/**
 * The server answered with a problem document. `code` is stable; `status` is the HTTP
 * status; quote `requestId` when reporting a problem. `retryAfter` is the Retry-After
 * header in seconds, when sent.
 */
export class ProblemError extends OctoStoreError {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string;
  readonly retryAfter: number | undefined;
  constructor(p: ProblemFields, retryAfter?: number, options?: ErrorOptions) {
    let text = `${p.status} ${p.code}`;
    if (p.detail) text += `: ${p.detail}`;
    if (p.request_id) text += ` (request ${p.request_id})`;
    super(p.code, text, options);
    this.status = p.status;
    this.title = p.title ?? '';
    this.detail = p.detail ?? '';
    this.requestId = p.request_id ?? '';
    this.retryAfter = retryAfter;
  }
}

/** 400 `invalid_request`: malformed body, unknown field or bad parameter. */
export class InvalidRequestError extends ProblemError {}
/** 400 `invalid_lock_name`: names match ^[A-Za-z0-9.-]{1,128}$. */
export class InvalidLockNameError extends InvalidRequestError {}
/** 400 `invalid_ttl`: TTLs are whole seconds from 1 to 3600. */
export class InvalidTtlError extends InvalidRequestError {}
/** 401 `unauthorized`: missing, unknown or rotated-away token. */
export class UnauthorizedError extends ProblemError {}
/** 404 `not_found`, `account_not_found`, `admin_disabled`. */
export class NotFoundError extends ProblemError {}
/** 404 `session_not_found`: the session is unknown, expired or deleted (its locks are
 * gone). Also what acquiring through a {@link Session} that has ended throws, without
 * asking the server; `cause` says how it ended. */
export class SessionNotFoundError extends NotFoundError {}
/** 405 `method_not_allowed`. */
export class MethodNotAllowedError extends ProblemError {}
/** 409: conflicts with the lock's or account's state. */
export class ConflictError extends ProblemError {}
/** 409 `lease_not_current`: the lease expired, was released, or is another lock's. */
export class LeaseNotCurrentError extends ConflictError {}
/** 409 `lock_limit_exceeded`: the account holds its maximum of active locks. */
export class LockLimitExceededError extends ConflictError {}
/** 409 `max_holders_mismatch`: the lock's holders (or its lock-delay, or its line) agreed on another `max_holders`. */
export class MaxHoldersMismatchError extends ConflictError {}
/** 409 `session_mismatch`: this holder holds the lock already, through another session or none. */
export class SessionMismatchError extends ConflictError {}
/** 409 `session_limit_exceeded`: the account has its maximum number of sessions. */
export class SessionLimitExceededError extends ConflictError {}
/** 409 `account_exists` (admin API). */
export class AccountExistsError extends ConflictError {}
/** 413 `payload_too_large`. */
export class PayloadTooLargeError extends ProblemError {}
/** 415 `unsupported_media_type`. */
export class UnsupportedMediaTypeError extends ProblemError {}
/** 429 `rate_limited`; see `retryAfter`. */
export class RateLimitedError extends ProblemError {}
/** 429 `too_many_waiters`: too many blocking acquires and watches in flight; see `retryAfter`. */
export class TooManyWaitersError extends RateLimitedError {}
/** 503 `unavailable`; see `retryAfter`. */
export class UnavailableError extends ProblemError {}
/** 500 `internal`, or an error answer that is not a problem document. */
export class ServerError extends ProblemError {}

const byCode: Record<string, new (p: ProblemFields, retryAfter?: number) => ProblemError> = {
  invalid_request: InvalidRequestError,
  invalid_lock_name: InvalidLockNameError,
  invalid_ttl: InvalidTtlError,
  unauthorized: UnauthorizedError,
  not_found: NotFoundError,
  account_not_found: NotFoundError,
  admin_disabled: NotFoundError,
  session_not_found: SessionNotFoundError,
  method_not_allowed: MethodNotAllowedError,
  lease_not_current: LeaseNotCurrentError,
  lock_limit_exceeded: LockLimitExceededError,
  max_holders_mismatch: MaxHoldersMismatchError,
  session_mismatch: SessionMismatchError,
  session_limit_exceeded: SessionLimitExceededError,
  account_exists: AccountExistsError,
  payload_too_large: PayloadTooLargeError,
  unsupported_media_type: UnsupportedMediaTypeError,
  rate_limited: RateLimitedError,
  too_many_waiters: TooManyWaitersError,
  unavailable: UnavailableError,
  no_leader: UnavailableError,
  internal: ServerError,
};

/** The typed error for an error response and its (parsed) body. */
export function problemError(response: Response, body: unknown): ProblemError {
  const header = response.headers.get('retry-after');
  const retryAfter = header !== null && !Number.isNaN(Number(header)) ? Number(header) : undefined;
  if (typeof body === 'object' && body !== null && typeof (body as ProblemFields).code === 'string') {
    const p = body as ProblemFields;
    const Cls = byCode[p.code] ?? ProblemError;
    return new Cls({ ...p, status: typeof p.status === 'number' ? p.status : response.status }, retryAfter);
  }
  return new ServerError({ code: 'unexpected_response', status: response.status, detail: `HTTP ${response.status} without a problem document` }, retryAfter);
}

/** Words for the usual causes of a failed connection. */
const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

/** The innermost readable cause of a failed fetch: "connection refused (connect ECONNREFUSED ...)". */
function describeCause(cause: unknown): string {
  let e: unknown = cause;
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'timed out';
    if (e.name === 'AbortError') return 'aborted';
    const code = (e as { code?: string }).code;
    const word = code !== undefined ? CAUSES[code] : undefined;
    return word ? `${word} (${e.message})` : e.message;
  }
  return String(e);
}

/** The request did not complete: connection refused, reset, aborted or timed out. The
 * message names the URL and the cause; `url` is the last URL tried. */
export class TransportError extends OctoStoreError {
  readonly url: string | undefined;
  constructor(cause: unknown, url?: string) {
    super('transport', `request ${url !== undefined ? `to ${url} ` : ''}failed: ${describeCause(cause)}`, { cause });
    this.url = url;
  }
}

/** A lease ended (expired, taken over, or its renewals failed until its end) while the
 * scoped block of {@link OctoStore.withLock} ran; `cause` is why. */
export class LockLostError extends OctoStoreError {
  constructor(
    readonly lock: string,
    cause: unknown,
  ) {
    super('lock_lost', `lock ${JSON.stringify(lock)} was lost while the block ran${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
  }
}

/** A success response that does not match the API. */
export class ProtocolError extends OctoStoreError {
  constructor(message: string) {
    super('protocol', message);
  }
}

/**
 * The lock is held by someone else: what {@link OctoStore.tryAcquire} reports (never
 * thrown by `tryLock`, which returns null). `holderId` is the holder (a semaphore's:
 * the one with the lowest fencing token); it is `null` while a lock-delay keeps the
 * lock from everyone, and `availableAt` then says when the delay ends.
 */
export class LockHeldError extends OctoStoreError {
  constructor(
    readonly lock: string,
    readonly holderId: string | null | undefined,
    readonly expiresAt: string,
    readonly retryAfterMs: number | undefined,
    readonly availableAt?: string,
  ) {
    super(
      'held',
      holderId === null
        ? `lock ${JSON.stringify(lock)} is kept by a lock-delay until ${availableAt ?? expiresAt}`
        : `lock ${JSON.stringify(lock)} is held by ${holderId} until ${expiresAt}`,
    );
  }
}

/** A blocking `lock` or `campaign` ran out of its wait before getting the lock. */
export class LockTimeoutError extends OctoStoreError {
  constructor(
    readonly lock: string,
    readonly waitedSeconds: number,
  ) {
    super('timeout', `lock ${JSON.stringify(lock)} not acquired within ${waitedSeconds}s`);
  }
}
