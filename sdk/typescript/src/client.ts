import './dispose.js';
import { type Client, createClient, createConfig } from './gen/client/index.js';
import { acquireLock, createSession, deleteSession, getLock, listLocks, releaseLock, renewLock, renewSession } from './gen/sdk.gen.js';
import type { AcquireRequest, AcquireResult, LockHolder, LockStatus, SessionResult } from './gen/types.gen.js';
import {
  InvalidLockNameError,
  LeaseNotCurrentError,
  LockHeldError,
  LockLostError,
  LockTimeoutError,
  OctoStoreError,
  ProblemError,
  ProtocolError,
  RateLimitedError,
  ServerError,
  SessionNotFoundError,
  TransportError,
  UnavailableError,
  problemError,
} from './errors.js';

/** Longest wait the server accepts for one blocking request, in seconds. */
const MAX_WAIT_SECONDS = 60;
/** Extra time a long-poll request may take beyond its wait. */
const POLL_SLACK_MS = 15_000;
/** Back-off after an early `held` when the server sends no hint. */
const DEFAULT_RETRY_MS = 250;
/** Default lease length of locks and elections, in seconds. */
export const DEFAULT_TTL = 15;
/** Default bound on one request, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** `<host>-<pid>-<8 random hex digits>`: the owner a client sends unless told otherwise. */
export function defaultOwner(): string {
  const proc = (globalThis as { process?: { pid?: number; getBuiltinModule?: (m: string) => unknown } }).process;
  let host = 'host';
  try {
    const os = proc?.getBuiltinModule?.('node:os') as { hostname(): string } | undefined;
    if (os) host = os.hostname() || host;
  } catch {
    // not Node.js
  }
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const clean = host.replace(/[^A-Za-z0-9._-]/g, '-');
  return `${clean}-${proc?.pid ?? 0}-${hex}`;
}

/**
 * A fetch that tries the base URLs in turn: a transport error or a 503 moves on to the
 * next one (and the next request starts with the URL that answered). When none answers,
 * it throws a {@link TransportError} naming the last URL and the cause, or returns the
 * last 503.
 */
function failoverFetch(bases: string[], inner: typeof fetch): { fetch: typeof fetch; current(): string } {
  let current = 0;
  const fetchOne = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = request.url;
    const first = bases.find((b) => url === b || url.startsWith(b + '/') || url.startsWith(b + '?'));
    if (first === undefined || bases.length === 0) return inner(request);
    const rest = url.slice(first.length);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    let lastError: unknown;
    let last503: Response | undefined;
    for (let i = 0; i < bases.length; i++) {
      const idx = (current + i) % bases.length;
      const target = bases[idx] + rest;
      if (request.signal.aborted) throw new TransportError(request.signal.reason, target);
      try {
        const res = await inner(
          new Request(target, {
            method: request.method,
            headers: request.headers,
            signal: request.signal,
            ...(body !== undefined ? { body } : {}),
          }),
        );
        if (res.status === 503 && i < bases.length - 1) {
          last503 = res;
          await res.body?.cancel().catch(() => undefined);
          continue;
        }
        current = idx;
        return res;
      } catch (e) {
        lastError = new TransportError(e, target);
        if (request.signal.aborted) throw lastError;
      }
    }
    if (last503 !== undefined && lastError === undefined) return last503;
    throw lastError;
  }) as typeof fetch;
  return { fetch: fetchOne, current: () => bases[current]! };
}

/** Options of {@link OctoStore}. */
export interface OctoStoreOptions {
  /** The server, e.g. `http://127.0.0.1:3000`, or several: a transport error or a 503
   * moves on to the next one. */
  baseUrl: string | string[];
  /** The bearer token. */
  token: string;
  /** The holder name sent with every acquire (default: {@link defaultOwner}, unique per
   * client). Two clients sharing a token but not an owner exclude each other; one owner
   * is one holder (re-acquiring returns the same lease). */
  owner?: string;
  /** Bound on every request in milliseconds (default 10 000); long-polls get their wait on
   * top, and renewals are also bounded by what is left of the lease. */
  timeoutMs?: number;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
}

/**
 * A lock as `status`, `watch`, `list` and `watchPrefix` report it; free locks carry only
 * name, status, revision. A semaphore's `holderId`, `fencingToken`, `expiresAt` and
 * `metadata` are those of its holder with the lowest fencing token; `holders` lists them all.
 */
export interface LockState {
  name: string;
  status: 'held' | 'free';
  revision: number;
  /** The holder (`<token id>/<owner>`); `null` while a lock-delay keeps the lock. */
  holderId?: string | null;
  fencingToken?: number;
  expiresAt?: string;
  metadata?: string;
  /** How many holders the lock admits (a semaphore's N), when the server says. */
  maxHolders?: number;
  /** Every current holder, by fencing token, when the server lists them. */
  holders?: LockHolderState[];
  /** While a lock-delay keeps the lock from everyone: when the delay ends. */
  availableAt?: string;
}

/** One current holder of a lock (see {@link LockState.holders}). */
export interface LockHolderState {
  holderId: string;
  fencingToken: number;
  expiresAt: string;
  metadata?: string;
}

/**
 * One answer of {@link OctoStore.watchPrefix}: the locks under the prefix that changed
 * past the index sent, by name (a released or expired one is `free`), and the index to
 * watch from next. When `complete` is false the server no longer remembered every lock
 * freed since that index: `changes` then holds every held lock under the prefix, and any
 * other lock you knew of is free.
 */
export interface PrefixChanges {
  index: number;
  changes: LockState[];
  complete: boolean;
}

/** The current leader of an election. */
export interface Leader {
  value: string | undefined;
  holderId: string | undefined;
  fencingToken: number | undefined;
  revision: number;
}

/** Options of {@link OctoStore.tryLock}. */
export interface TryLockOptions {
  /** Lease length in seconds (1..3600, default 15). */
  ttl?: number;
  /** A small value stored with the lease and visible to the account (≤ 1024 characters). */
  metadata?: string;
  /** Renew in the background at the server's `renew_after_ms` (default true). */
  autoRenew?: boolean;
  /** Lock-delay in seconds (0..60, default none): when this lease *expires* (or its
   * session does), nobody is granted the lock for that long, so a holder that lost it
   * without noticing has time to stop. A release never starts it. */
  lockDelay?: number;
}

/** Options of {@link OctoStore.lock}. */
export interface LockOptions extends TryLockOptions {
  /** Longest wait in seconds (default: for ever; 0 is a single attempt). */
  wait?: number;
  /** Aborts the wait. */
  signal?: AbortSignal;
}

/** Options of {@link Session.tryLock}: a lease bound to a session has no TTL and no
 * renewals of its own. */
export type SessionTryLockOptions = Omit<TryLockOptions, 'ttl' | 'autoRenew'>;

/** Options of {@link Session.lock}. */
export type SessionLockOptions = Omit<LockOptions, 'ttl' | 'autoRenew'>;

/** Options of {@link OctoStore.session}. */
export interface SessionOptions {
  /** The session's TTL in seconds (1..3600, default 15): how long its locks outlive a
   * process that stopped renewing it. */
  ttl?: number;
}

/** Options of {@link OctoStore.watchPrefix}. */
export interface WatchPrefixOptions {
  /** Ends the watch (the iteration stops without an error). */
  signal?: AbortSignal;
  /** How long each long-poll waits on the server, in seconds (default 60). */
  pollWait?: number;
}

/** @internal How a helper acquires a lock: what it sends and how the lease is kept. */
interface AcquireSpec {
  /** The lease's TTL; through a session, the session's. */
  ttl: number;
  metadata: string | undefined;
  autoRenew: boolean;
  lockDelay: number | undefined;
  maxHolders: number | undefined;
  session: Session | undefined;
}

function specOf(options: TryLockOptions, session?: Session, maxHolders?: number): AcquireSpec {
  return {
    ttl: session?.ttl ?? options.ttl ?? DEFAULT_TTL,
    metadata: options.metadata,
    autoRenew: session === undefined && (options.autoRenew ?? true),
    lockDelay: options.lockDelay,
    maxHolders,
    session,
  };
}

function toState(s: LockStatus): LockState {
  const out: LockState = { name: s.name, status: s.status, revision: s.revision ?? 0 };
  if (s.holder_id !== undefined) out.holderId = s.holder_id;
  if (s.fencing_token !== undefined) out.fencingToken = s.fencing_token;
  if (s.expires_at !== undefined) out.expiresAt = s.expires_at;
  if (s.metadata !== undefined) out.metadata = s.metadata;
  if (s.max_holders !== undefined) out.maxHolders = s.max_holders;
  if (s.holders !== undefined) out.holders = s.holders.map(toHolder);
  if (s.available_at !== undefined) out.availableAt = s.available_at;
  return out;
}

function toHolder(h: LockHolder): LockHolderState {
  const out: LockHolderState = { holderId: h.holder_id, fencingToken: h.fencing_token, expiresAt: h.expires_at };
  if (h.metadata !== undefined) out.metadata = h.metadata;
  return out;
}

function toLeader(s: LockState): Leader | null {
  // A lock kept only by a lock-delay (no holder) has no leader.
  if (s.status !== 'held' || s.holderId === null) return null;
  return { value: s.metadata, holderId: s.holderId, fencingToken: s.fencingToken, revision: s.revision };
}

/** The wait_seconds for the next blocking request: whole seconds (rounded down, with
 * 100 ms of tolerance for the time spent before asking), at most 60. */
function waitChunk(remainingMs: number | undefined): number {
  if (remainingMs === undefined) return MAX_WAIT_SECONDS;
  return Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor((remainingMs + 100) / 1000)));
}

function retryDelay(retryAfterMs: number | undefined): number {
  if (retryAfterMs === undefined) return DEFAULT_RETRY_MS;
  return Math.min(Math.max(retryAfterMs, 50), 1000);
}

/** When a lease ends by the local clock: now plus the time left the server reported
 * (`renew_after_ms` is a third of it), else `expires_at`, at most `ttl` seconds on. */
function leaseEnd(renewAfterMs: number | undefined, expiresAt: string, ttl: number): number {
  const now = Date.now();
  if (renewAfterMs !== undefined) return now + renewAfterMs * 3;
  const at = Date.parse(expiresAt);
  return Number.isNaN(at) ? now + ttl * 1000 : Math.min(at, now + ttl * 1000);
}

function renewDelay(renewAfterMs: number | undefined, ttl: number): number {
  return Math.max(renewAfterMs ?? (ttl * 1000) / 3, 50);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** @internal What a generated call resolves to. */
export interface Outcome<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** Turns a generated call's outcome into its data or a typed error. */
async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  let out: Outcome<T>;
  try {
    out = await call;
  } catch (e) {
    throw e instanceof TransportError ? e : new TransportError(e);
  }
  if (out.response === undefined) throw out.error instanceof TransportError ? out.error : new TransportError(out.error);
  if (!out.response.ok) throw problemError(out.response, out.error);
  // 204 No Content (a deleted session): the generated client hands back the null body.
  if (out.response.status === 204) return undefined as T;
  if (out.data === undefined || out.data === null) throw new ProtocolError(`HTTP ${out.response.status}: empty body`);
  return out.data;
}

/**
 * An OctoStore client for one token (one holder): locks that renew themselves and
 * report their loss, and leader election. The generated client is {@link OctoStore.raw}.
 */
export class OctoStore {
  /** The generated client (see the `api` export), for calls the helpers do not cover. */
  readonly raw: Client;
  /** The owner this client sends with every acquire (log it to tell holders apart). */
  readonly owner: string;
  readonly timeoutMs: number;
  /** The base URLs, in the order they are tried. */
  readonly baseUrls: readonly string[];
  /** @internal leases and elections this client holds, for {@link OctoStore.releaseOnSignals}. */
  readonly held = new Set<Lease>();
  /** @internal sessions this client keeps alive, for {@link OctoStore.releaseOnSignals}. */
  readonly sessions = new Set<Session>();
  readonly #currentUrl: () => string;

  constructor(options: OctoStoreOptions) {
    this.owner = options.owner ?? defaultOwner();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const bases = (Array.isArray(options.baseUrl) ? options.baseUrl : [options.baseUrl]).map((u) => u.replace(/\/+$/, ''));
    if (bases.length === 0) throw new TypeError('OctoStore: baseUrl is empty');
    this.baseUrls = bases;
    const inner = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
    const failover = failoverFetch(bases, inner as typeof fetch);
    this.#currentUrl = failover.current;
    this.raw = createClient(createConfig({ baseUrl: bases[0]!, auth: options.token, fetch: failover.fetch }));
  }

  /**
   * Releases every lease this client holds (elections resign, sessions are closed) when
   * the process gets SIGTERM or SIGINT, then lets the signal take its usual course (the handlers remove
   * themselves and re-send it). Opt-in; returns a function that removes the handlers.
   * Node.js, Deno (with Node compatibility) and Bun.
   */
  releaseOnSignals(signals: readonly string[] = ['SIGTERM', 'SIGINT']): () => void {
    type Proc = { pid: number; on(s: string, h: () => void): unknown; removeListener(s: string, h: () => void): unknown; kill(pid: number, s: string): unknown };
    const proc = (globalThis as { process?: Proc }).process;
    if (!proc?.on) return () => undefined;
    const handlers = new Map<string, () => void>();
    const remove = () => {
      for (const [sig, h] of handlers) proc.removeListener(sig, h);
      handlers.clear();
    };
    for (const sig of signals) {
      const h = () => {
        remove();
        void this.releaseAll().finally(() => proc.kill(proc.pid, sig));
      };
      handlers.set(sig, h);
      proc.on(sig, h);
    }
    return remove;
  }

  /** Releases every lease this client still holds, then closes its sessions (errors ignored). */
  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.held].map((l) => l.close()));
    await Promise.allSettled([...this.sessions].map((s) => s.close()));
  }

  /**
   * The scoped form: waits for the lock (at most `wait` seconds, default 0: one attempt),
   * runs `fn` with the lease, and releases it when `fn` ends, however it ends.
   *
   * - `fn`'s own error always comes out unchanged; a failing release is attached to it
   *   as `suppressed` (when that property is free), never replaces it.
   * - When the lease was lost while `fn` ran and `fn` returned normally, throws
   *   {@link LockLostError} (cause: why it was lost); pass `lease.signal` to your work to
   *   stop early.
   * - Throws {@link LockTimeoutError} when the lock was not free within `wait`.
   */
  async withLock<T>(name: string, options: LockOptions, fn: (lease: Lease) => Promise<T> | T): Promise<T> {
    return scoped(name, () => this.acquireWaiting(name, specOf(options), options.wait ?? 0, options.signal), fn);
  }

  /**
   * Takes the lock if it is free (one attempt) and returns the lease, or `null` when
   * someone else holds it. Taking a lock this holder (token and owner) already holds
   * returns the same lease and fencing token.
   */
  async tryLock(name: string, options: TryLockOptions = {}): Promise<Lease | null> {
    const got = await this.tryAcquire(name, options);
    return got instanceof Lease ? got : null;
  }

  /** As {@link OctoStore.tryLock}, but when the lock is held it returns (does not throw) a
   * {@link LockHeldError} value saying who holds it and until when (or, during a
   * lock-delay, `holderId` null and `availableAt`). */
  async tryAcquire(name: string, options: TryLockOptions = {}): Promise<Lease | LockHeldError> {
    return this.acquire(name, specOf(options), 0);
  }

  /**
   * Waits in line for the lock (at most `wait` seconds; default for ever) and returns the
   * lease, renewing itself in the background. With `await using` it is released when the
   * scope ends:
   *
   * ```ts
   * await using lease = await client.lock('nightly-report', { ttl: 30 });
   * await write(report, { fencingToken: lease.fencingToken, signal: lease.signal });
   * ```
   *
   * A lock-delay is waited out like a holder. Throws {@link LockTimeoutError} when the
   * wait ends first.
   */
  async lock(name: string, options: LockOptions = {}): Promise<Lease> {
    return this.acquireWaiting(name, specOf(options), options.wait, options.signal);
  }

  /**
   * A semaphore of `n` holders (1..64) on the lock `name`: up to `n` distinct holders
   * hold it at once, each with a lease and fencing token of its own; it has the same
   * forms as a lock (`tryLock`, `tryAcquire`, `lock`, `withLock`). Every holder of a
   * name must use the same `n` (the server refuses another with
   * {@link MaxHoldersMismatchError}).
   *
   * ```ts
   * await using slot = await client.semaphore('encoders', 3).lock({ wait: 30 });
   * ```
   */
  semaphore(name: string, n: number): Semaphore {
    return new Semaphore(this, name, n, undefined);
  }

  /**
   * Creates a session (default TTL 15 s) and keeps it alive in the background: a lease on
   * this process's liveness that many locks share. Locks taken through it have no TTL of
   * their own and end when it ends; `close` ends it and releases them at once.
   *
   * ```ts
   * await using session = await client.session({ ttl: 10 });
   * const lease = await session.lock('leader', { lockDelay: 10 });
   * session.signal.addEventListener('abort', () => stopWork());
   * ```
   */
  async session(options: SessionOptions = {}): Promise<Session> {
    const ttl = options.ttl ?? DEFAULT_TTL;
    const sent = Date.now();
    const res = await this.call((signal) => createSession({ client: this.raw, body: { ttl_seconds: ttl }, signal }));
    return new Session(this, ttl, res, sent);
  }

  /** The lock's current state. */
  async status(name: string): Promise<LockState> {
    return toState(await this.call((signal) => getLock({ client: this.raw, path: { name }, signal })));
  }

  /**
   * Waits (at most `waitSeconds`, up to 60) until the lock's revision exceeds `index` and
   * returns the state then; after the wait, the unchanged state. Pass the last revision
   * you saw and no change is ever missed.
   */
  async watch(name: string, index: number, waitSeconds = 30, signal?: AbortSignal): Promise<LockState> {
    const s = await this.call(
      (signal) => getLock({ client: this.raw, path: { name }, query: { index, wait_seconds: waitSeconds }, signal }),
      this.waitBound(waitSeconds),
      signal,
    );
    return toState(s);
  }

  /** The account's active locks, by name. */
  async list(): Promise<LockState[]> {
    const res = await this.call((signal) => listLocks({ client: this.raw, signal }));
    return res.locks.map(toState);
  }

  /**
   * The index to watch the prefix from with {@link OctoStore.watchPrefix}: every change
   * under it so far is at or below it.
   */
  async prefixIndex(prefix: string): Promise<number> {
    const res = await this.call((signal) => listLocks({ client: this.raw, query: { prefix, limit: 1 }, signal }));
    if (res.index === undefined) throw new ProtocolError('prefix list without index');
    return res.index;
  }

  /**
   * Follows every change of the locks whose names start with `prefix` after `index`, in
   * order: each answer that carries changes is yielded, until `signal` aborts (the
   * iteration then ends) or the loop is left. Index 0 starts with every lock the server
   * knows under the prefix; {@link OctoStore.prefixIndex} gives the current index, to see
   * only what changes from now on. Coming back with each answer's index, it misses no
   * change; a lock that changed several times between two answers is reported once, as
   * it is now. 429 and 503 answers are waited out; other errors are thrown.
   *
   * ```ts
   * for await (const { changes } of client.watchPrefix('jobs.', await client.prefixIndex('jobs.'))) {
   *   for (const lock of changes) console.log(lock.name, lock.status);
   * }
   * ```
   */
  async *watchPrefix(prefix: string, index: number, options: WatchPrefixOptions = {}): AsyncGenerator<PrefixChanges, void, undefined> {
    const { signal } = options;
    const wait = Math.max(1, Math.min(MAX_WAIT_SECONDS, options.pollWait ?? MAX_WAIT_SECONDS));
    for (;;) {
      if (signal?.aborted) return;
      let res;
      try {
        res = await this.call(
          (s) => listLocks({ client: this.raw, query: { prefix, index, wait_seconds: wait }, signal: s }),
          this.waitBound(wait),
          signal,
        );
      } catch (e) {
        if (signal?.aborted) return;
        if (!(e instanceof RateLimitedError || e instanceof UnavailableError)) throw e;
        try {
          await sleep(Math.max(100, (e.retryAfter ?? 1) * 1000), signal);
        } catch {
          return; // aborted while waiting
        }
        continue;
      }
      if (res.index === undefined) throw new ProtocolError('prefix watch answer without index');
      const answer: PrefixChanges = { index: res.index, changes: (res.changes ?? []).map(toState), complete: res.complete ?? true };
      if (answer.changes.length > 0 || !answer.complete) yield answer;
      index = Math.max(index, answer.index);
    }
  }

  /** An election on the lock `name`; the leader holds it with a `ttl`-second lease. */
  election(name: string, options: { ttl?: number } = {}): Election {
    return new Election(this, name, options.ttl ?? DEFAULT_TTL);
  }

  /** @internal The bound on a request that may wait `waitSeconds` on the server. */
  waitBound(waitSeconds: number): number {
    return this.timeoutMs + (waitSeconds > 0 ? waitSeconds * 1000 + POLL_SLACK_MS : 0);
  }

  /**
   * @internal One generated call, as its data or a typed error, ended after `ms` (a
   * {@link TransportError}, "timed out") or when `user` aborts.
   *
   * Not `AbortSignal.timeout`: Node.js may garbage-collect such a signal, and its timer
   * with it, while a fetch still waits on it, and a request to a stalled server then
   * never ends (a renewal would hang past the lease's end). Here the timer holds the
   * controller, and the race ends the call at the deadline whatever the fetch does.
   */
  async call<T>(make: (signal: AbortSignal) => Promise<Outcome<T>>, ms: number = this.timeoutMs, user?: AbortSignal): Promise<T> {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const ended = new Promise<never>((_, reject) => {
      const end = (cause: unknown) => {
        ac.abort(cause);
        reject(new TransportError(cause, this.#currentUrl()));
      };
      timer = setTimeout(() => end(new DOMException('The operation timed out.', 'TimeoutError')), ms);
      // An in-flight request keeps the process alive by its socket; the timer need not.
      (timer as { unref?: () => void }).unref?.();
      if (user !== undefined) {
        onAbort = () => end(user.reason);
        if (user.aborted) onAbort();
        else user.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([unwrap(make(ac.signal)), ended]);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) user?.removeEventListener('abort', onAbort);
    }
  }

  /** @internal One acquire; `wait` > 0 waits in the lock's line on the server that long. */
  async acquire(name: string, spec: AcquireSpec, wait: number, signal?: AbortSignal): Promise<Lease | LockHeldError> {
    if (name === '') {
      throw new InvalidLockNameError({ code: 'invalid_lock_name', status: 400, detail: 'the lock name is empty; names match ^[A-Za-z0-9.-]{1,128}$' });
    }
    const body: AcquireRequest = { owner: this.owner };
    if (spec.session !== undefined) {
      spec.session.check();
      body.session_id = spec.session.id; // the session's TTL rules
    } else {
      body.ttl_seconds = spec.ttl;
    }
    if (wait > 0) body.wait_seconds = wait;
    if (spec.metadata !== undefined) body.metadata = spec.metadata;
    if (spec.lockDelay !== undefined) body.lock_delay_seconds = spec.lockDelay;
    if (spec.maxHolders !== undefined) body.max_holders = spec.maxHolders;
    let res: AcquireResult;
    try {
      res = await this.call((s) => acquireLock({ client: this.raw, path: { name }, body, signal: s }), this.waitBound(wait), signal);
    } catch (e) {
      // The server no longer knows the session: it is lost now, not when its next
      // renewal finds out, and so is every lease bound to it.
      if (spec.session !== undefined && e instanceof SessionNotFoundError) spec.session.forgotten(e);
      throw e;
    }
    if (res.status === 'acquired') {
      if (res.lease_id === undefined || res.fencing_token === undefined) throw new ProtocolError('acquired without lease_id or fencing_token');
      return new Lease(this, name, spec.ttl, res, spec.metadata, spec.autoRenew, spec.session);
    }
    return new LockHeldError(name, res.holder_id, res.expires_at, res.retry_after_ms, res.available_at);
  }

  /** @internal Waits in line for the lock, at most `wait` seconds (undefined: for ever). */
  async acquireWaiting(name: string, spec: AcquireSpec, wait: number | undefined, signal?: AbortSignal): Promise<Lease> {
    const deadline = wait === undefined ? undefined : Date.now() + wait * 1000;
    for (;;) {
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      const got = await this.acquire(name, spec, waitChunk(remaining), signal);
      if (got instanceof Lease) return got;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) throw new LockTimeoutError(name, wait ?? 0);
      // Held before the wait was over (a server without blocking acquire, a shorter
      // chunk, or a lock-delay): back off as the server suggests, then ask again.
      const delay = retryDelay(got.retryAfterMs);
      await sleep(left === undefined ? delay : Math.min(delay, left), signal);
    }
  }
}

/** The scoped form of every helper: takes the lease, runs `fn`, releases (see {@link OctoStore.withLock}). */
async function scoped<T>(name: string, take: () => Promise<Lease>, fn: (lease: Lease) => Promise<T> | T): Promise<T> {
  const lease = await take();
  let value: T;
  try {
    value = await fn(lease);
  } catch (e) {
    try {
      await lease.release();
    } catch (r) {
      if (e !== null && typeof e === 'object' && !('suppressed' in e)) {
        Object.defineProperty(e, 'suppressed', { value: r, configurable: true, writable: true });
      }
    }
    throw e;
  }
  if (lease.lost) {
    lease.stop();
    throw new LockLostError(name, lease.signal.reason);
  }
  try {
    await lease.release();
  } catch (r) {
    if (r instanceof LeaseNotCurrentError) throw new LockLostError(name, r);
    throw r;
  }
  return value;
}

/** Renewal errors retried until the lease's own end. */
function transient(e: unknown): boolean {
  return (
    e instanceof TransportError ||
    e instanceof UnavailableError ||
    e instanceof RateLimitedError ||
    e instanceof ServerError ||
    e instanceof ProtocolError
  );
}

/**
 * A held lock. It renews itself (unless `autoRenew: false`) at the server's
 * `renew_after_ms`, and {@link Lease.signal} aborts when the lease is lost.
 *
 * A lease taken through a {@link Session} has no TTL and no renewals of its own: the
 * session keeps it alive, and it ends when the session ends (lost, closed or orphaned),
 * aborting its signal then.
 *
 * A lease is not a guarantee: a process can stall past its TTL and still believe it
 * holds the lock. Send {@link Lease.fencingToken} with every write to the resource you
 * protect and have it refuse tokens smaller than the largest it has seen.
 */
export class Lease implements AsyncDisposable {
  readonly name: string;
  readonly ttl: number;
  readonly leaseId: string;
  readonly fencingToken: number;
  readonly metadata: string | undefined;
  /** When the lease ends unless renewed, as the server last reported (RFC 3339). */
  expiresAt: string;
  /** The server's latest hint for the next renewal. */
  renewAfterMs: number | undefined;
  /** The session the lease is bound to (an ephemeral lock), if any. */
  readonly session: Session | undefined;
  readonly #client: OctoStore;
  readonly #lost = new AbortController();
  #deadline: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** @internal */
  constructor(
    client: OctoStore,
    name: string,
    ttl: number,
    res: AcquireResult,
    metadata: string | undefined,
    autoRenew: boolean,
    session?: Session,
  ) {
    this.#client = client;
    this.session = session;
    this.name = name;
    this.ttl = ttl;
    this.leaseId = res.lease_id!;
    this.fencingToken = res.fencing_token!;
    this.metadata = metadata;
    this.expiresAt = res.expires_at;
    this.renewAfterMs = res.renew_after_ms;
    this.#deadline = leaseEnd(res.renew_after_ms, res.expires_at, ttl);
    client.held.add(this);
    if (session !== undefined) session.bind(this); // ends it at once if the session has ended
    else if (autoRenew) this.#schedule(renewDelay(this.renewAfterMs, ttl));
    else this.#armExpiry();
  }

  /** Where this client believes the lease ends (ms since the epoch, local clock),
   * counted from the grant or the latest renewal as the server reported them (through a
   * session: the session's). */
  get deadline(): number {
    return this.session?.deadline ?? this.#deadline;
  }

  /** Aborts (with the cause as its reason) when the lease is lost. Pass it to your work. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Whether the lease was lost (ended without being released). */
  get lost(): boolean {
    return this.#lost.signal.aborted;
  }

  /** Renews now (default: the lease's TTL). Throws LeaseNotCurrentError (and aborts `signal`) when it has ended.
   * A lease bound to a session renews its session (`ttl` does not apply). */
  async renew(ttl?: number): Promise<this> {
    if (this.session !== undefined) {
      await this.session.renew();
      return this;
    }
    try {
      await this.#renewNow(ttl ?? this.ttl);
    } catch (e) {
      if (e instanceof LeaseNotCurrentError) this.#markLost(e);
      throw e;
    }
    return this;
  }

  /** Stops renewing and gives the lock back. Throws LeaseNotCurrentError when it had already ended. */
  async release(): Promise<void> {
    this.#stop();
    this.#client.held.delete(this);
    await this.#client.call((signal) => releaseLock({ client: this.#client.raw, path: { name: this.name }, body: { lease_id: this.leaseId }, signal }));
  }

  /** Stops renewing; the lease is left to expire on the server. */
  stop(): void {
    this.#stop();
    this.#client.held.delete(this);
  }

  /** End of scope: stops renewing and releases the lease if it is still held. After a
   * loss it returns at once, without a request; a lease that already ended on the
   * server (`lease_not_current`) is not an error here. */
  async close(): Promise<void> {
    if (this.lost) return this.stop();
    try {
      await this.release();
    } catch (e) {
      if (e instanceof LeaseNotCurrentError) return this.#markLost(e);
      throw e;
    }
  }

  /** Same as {@link Lease.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #renewNow(ttl: number, bounded = false): Promise<void> {
    // A background renewal is also bounded by what is left of the lease: a stalled
    // server must not delay the loss signal past the lease's end.
    const left = this.#deadline - Date.now();
    const timeout = bounded ? Math.max(1, Math.min(this.#client.timeoutMs, left)) : this.#client.timeoutMs;
    const res = await this.#client.call(
      (signal) => renewLock({ client: this.#client.raw, path: { name: this.name }, body: { lease_id: this.leaseId, ttl_seconds: ttl }, signal }),
      timeout,
    );
    if (Date.parse(res.expires_at) > Date.parse(this.expiresAt)) this.expiresAt = res.expires_at;
    this.renewAfterMs = res.renew_after_ms;
    this.#deadline = Math.max(this.#deadline, leaseEnd(res.renew_after_ms, res.expires_at, ttl));
    if (this.#expiry !== undefined) this.#armExpiry();
  }

  /** Without auto-renewal: signal the loss when the lease ends by the local count. */
  #armExpiry(): void {
    if (this.#expiry !== undefined) clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => {
      if (!this.#stopped && Date.now() >= this.#deadline) this.#markLost(new OctoStoreError('expired', `lease on ${JSON.stringify(this.name)} expired`));
      else if (!this.#stopped) this.#armExpiry();
    }, Math.max(0, this.#deadline - Date.now()));
    (this.#expiry as { unref?: () => void }).unref?.();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), ms);
    // A forgotten lease must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #tick(): Promise<void> {
    try {
      await this.#renewNow(this.ttl, true);
      this.#schedule(renewDelay(this.renewAfterMs, this.ttl));
    } catch (e) {
      if (this.#stopped) return;
      if (transient(e)) {
        const left = this.#deadline - Date.now();
        if (left <= 0) return this.#markLost(e);
        return this.#schedule(Math.min(1000, left));
      }
      this.#markLost(e);
    }
  }

  #stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#expiry !== undefined) clearTimeout(this.#expiry);
    this.session?.unbind(this);
  }

  /** @internal The session it is bound to ended: so did the lease. */
  sessionEnded(reason: OctoStoreError): void {
    this.#markLost(reason);
  }

  /** @internal The session it is bound to was renewed, and the lease with it. */
  sessionRenewed(expiresAt: string, renewAfterMs: number): void {
    if (Date.parse(expiresAt) > Date.parse(this.expiresAt)) this.expiresAt = expiresAt;
    this.renewAfterMs = renewAfterMs;
  }

  #markLost(reason: unknown): void {
    this.#stop();
    this.#client.held.delete(this);
    if (!this.#lost.signal.aborted) this.#lost.abort(reason instanceof OctoStoreError ? reason : new OctoStoreError('lost', String(reason)));
  }
}

/** What {@link Semaphore.lock} and {@link Semaphore.withLock} take besides the lock options. */
export interface WaitOptions {
  /** Longest wait in seconds (default: for ever for `lock`, 0 for `withLock`; 0 is a single attempt). */
  wait?: number;
  /** Aborts the wait. */
  signal?: AbortSignal;
}

/**
 * A lock that up to `n` distinct holders hold at once (Consul's semaphore, the CLI's
 * `run --max-holders N`), made by {@link OctoStore.semaphore} or
 * {@link Session.semaphore}. Each holder gets a {@link Lease} of its own, with its own
 * fencing token, renewed and signalled like a lock's; the forms and defaults are a
 * lock's. The `n`+1th holder gets "not acquired" or waits in the lock's line. Every
 * holder of a name must use the same `n` ({@link MaxHoldersMismatchError} otherwise).
 */
export class Semaphore<Options extends SessionTryLockOptions = TryLockOptions> {
  readonly name: string;
  /** How many holders it admits. */
  readonly n: number;
  /** The session its leases are bound to, if any. */
  readonly session: Session | undefined;
  readonly #client: OctoStore;

  /** @internal */
  constructor(client: OctoStore, name: string, n: number, session: Session | undefined) {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`semaphore of ${n} holders: want 1 to 64`);
    this.#client = client;
    this.name = name;
    this.n = n;
    this.session = session;
  }

  /** Takes a place if one is free (one attempt) and returns its lease, or `null` when all `n` are taken. */
  async tryLock(options?: Options): Promise<Lease | null> {
    const got = await this.tryAcquire(options);
    return got instanceof Lease ? got : null;
  }

  /** As {@link Semaphore.tryLock}, but when all places are taken it returns a
   * {@link LockHeldError} value (its holder: the one with the lowest fencing token). */
  async tryAcquire(options?: Options): Promise<Lease | LockHeldError> {
    return this.#client.acquire(this.name, this.#spec(options), 0);
  }

  /** Waits in the lock's line for a place (at most `wait` seconds; default for ever) and
   * returns its lease. Throws {@link LockTimeoutError} when the wait ends first. */
  async lock(options?: Options & WaitOptions): Promise<Lease> {
    return this.#client.acquireWaiting(this.name, this.#spec(options), options?.wait, options?.signal);
  }

  /** The scoped form, as {@link OctoStore.withLock}: a place for the time `fn` runs. */
  async withLock<T>(options: (Options & WaitOptions) | undefined, fn: (lease: Lease) => Promise<T> | T): Promise<T> {
    return scoped(this.name, () => this.#client.acquireWaiting(this.name, this.#spec(options), options?.wait ?? 0, options?.signal), fn);
  }

  #spec(options: Options | undefined): AcquireSpec {
    return specOf(options ?? {}, this.session, this.n);
  }
}

/**
 * A session: a lease on this process's liveness that many locks share, modelled on
 * etcd's `concurrency.Session`. {@link OctoStore.session} creates it and keeps it alive
 * in the background at the server's `renew_after_ms`; locks and semaphores taken
 * through it ({@link Session.lock}, {@link Session.semaphore}) send its id and no TTL,
 * have no renewals of their own, and end exactly when it ends.
 *
 * - {@link Session.signal} is the loss signal: it aborts when the session ended without
 *   being closed: the server no longer knows it ({@link SessionNotFoundError}, heard by
 *   a renewal or by an acquire through the session, whichever asks first), or no
 *   renewal succeeded before it would have expired (a stalled or unreachable server:
 *   at the session's deadline by the local clock, not after an HTTP timeout). Every
 *   lock bound to it is gone then too.
 * - {@link Session.close} (or `await using`) deletes it, which releases every lock bound
 *   to it at once, with no lock-delay. Closing is not a loss.
 * - {@link Session.orphan} only stops the keep-alive, as a killed process would: the
 *   server ends the session, and its locks, one TTL later, and their lock-delays apply.
 *
 * As with any lease, a stalled process learns of the loss only when it runs again: pass
 * the locks' fencing tokens to what they protect.
 */
export class Session implements AsyncDisposable {
  /** The session's id (`session_id`), for acquires made without this helper. Keep it out of logs. */
  readonly id: string;
  /** The session's TTL in seconds. */
  readonly ttl: number;
  /** When the server ends the session unless it is renewed, as of the latest renewal (RFC 3339). */
  expiresAt: string;
  /** The server's latest hint for the next renewal. */
  renewAfterMs: number;
  readonly #client: OctoStore;
  readonly #lost = new AbortController();
  readonly #leases = new Set<Lease>();
  #deadline = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #state: 'open' | 'lost' | 'closed' | 'orphaned' = 'open';
  #why: OctoStoreError | undefined;
  #lastError: OctoStoreError | undefined;

  /** @internal */
  constructor(client: OctoStore, ttl: number, res: SessionResult, sent: number) {
    this.#client = client;
    this.id = res.session_id;
    this.ttl = res.ttl_seconds ?? ttl;
    this.expiresAt = res.expires_at;
    this.renewAfterMs = res.renew_after_ms;
    this.#record(sent, res);
    client.sessions.add(this);
    this.#schedule(this.renewAfterMs);
  }

  /** Where this client believes the session ends (ms since the epoch, local clock): three
   * renewal intervals after the latest successful renewal was sent, never later than the
   * server's end. */
  get deadline(): number {
    return this.#deadline;
  }

  /** Aborts (with the cause as its reason) when the session is lost; not on close or orphan. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Whether the session was lost (ended without {@link Session.close} or {@link Session.orphan}). */
  get lost(): boolean {
    return this.#state === 'lost';
  }

  /** Whether the session has ended: lost, closed or orphaned. Nothing can be acquired through it then. */
  get ended(): boolean {
    return this.#state !== 'open';
  }

  /** {@link OctoStore.tryLock} through the session: the lease is bound to it. */
  async tryLock(name: string, options: SessionTryLockOptions = {}): Promise<Lease | null> {
    const got = await this.tryAcquire(name, options);
    return got instanceof Lease ? got : null;
  }

  /** {@link OctoStore.tryAcquire} through the session. Throws {@link SessionNotFoundError}
   * without asking the server when the session has ended; when the server answers that it
   * no longer knows the session, throws that error and marks the session lost at once
   * (`signal` aborts). A blocking {@link Session.lock} does not retry it. */
  async tryAcquire(name: string, options: SessionTryLockOptions = {}): Promise<Lease | LockHeldError> {
    return this.#client.acquire(name, specOf(options, this), 0);
  }

  /** {@link OctoStore.lock} through the session: waits in line (at most `wait` seconds;
   * default for ever) and returns a lease bound to the session. */
  async lock(name: string, options: SessionLockOptions = {}): Promise<Lease> {
    return this.#client.acquireWaiting(name, specOf(options, this), options.wait, options.signal);
  }

  /** {@link OctoStore.withLock} through the session. */
  async withLock<T>(name: string, options: SessionLockOptions, fn: (lease: Lease) => Promise<T> | T): Promise<T> {
    return scoped(name, () => this.#client.acquireWaiting(name, specOf(options, this), options.wait ?? 0, options.signal), fn);
  }

  /** {@link OctoStore.semaphore} through the session: its leases are bound to it. */
  semaphore(name: string, n: number): Semaphore<SessionTryLockOptions> {
    return new Semaphore<SessionTryLockOptions>(this.#client, name, n, this);
  }

  /** Renews the session (and every lock bound to it) now. Throws
   * {@link SessionNotFoundError} (and aborts `signal`) when the server no longer knows it. */
  async renew(): Promise<void> {
    this.check();
    await this.#renewOnce(this.#client.timeoutMs);
  }

  /**
   * End of scope: stops the keep-alive and deletes the session on the server, which
   * releases every lock bound to it at once (no lock-delay). After a loss, a close or
   * an orphan it returns at once, without a request; a session the server no longer
   * knows is not an error here. Throws when the server could not be asked (the session
   * then ends on the server one TTL later).
   */
  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#end('closed', new OctoStoreError('session_closed', 'the session was closed'));
    try {
      await this.#client.call((signal) => deleteSession({ client: this.#client.raw, path: { session_id: this.id }, signal }));
    } catch (e) {
      if (!(e instanceof SessionNotFoundError)) throw e;
    }
  }

  /**
   * Stops the keep-alive without deleting the session, as etcd's `Session.Orphan` does
   * and a killed process would: the server ends the session, and every lock bound to
   * it, one TTL after its last renewal, and their lock-delays apply then. The leases
   * bound to it count as ended at once (their signals abort); `signal` does not.
   */
  orphan(): void {
    this.#end('orphaned', new OctoStoreError('session_orphaned', 'the session was orphaned: it is no longer kept alive'));
  }

  /** Same as {@link Session.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Throws {@link SessionNotFoundError} when the session has ended. */
  check(): void {
    if (this.#state === 'open') return;
    const how = this.#state === 'lost' ? 'was lost' : this.#state === 'closed' ? 'was closed' : 'was orphaned';
    throw new SessionNotFoundError(
      { code: 'session_not_found', status: 404, detail: `the session ${how}; create a new session and acquire the lock again` },
      undefined,
      { cause: this.#why },
    );
  }

  /** @internal An acquire through the session heard that the server no longer knows it. */
  forgotten(e: SessionNotFoundError): void {
    this.#end('lost', e);
  }

  /** @internal A lease taken through the session; it ends when the session does. */
  bind(lease: Lease): void {
    if (this.#state !== 'open') return lease.sessionEnded(this.#leaseReason());
    this.#leases.add(lease);
  }

  /** @internal The lease was released or stopped. */
  unbind(lease: Lease): void {
    this.#leases.delete(lease);
  }

  async #renewOnce(timeoutMs: number): Promise<void> {
    const sent = Date.now();
    try {
      const res = await this.#client.call((signal) => renewSession({ client: this.#client.raw, path: { session_id: this.id }, signal }), timeoutMs);
      if (this.#state === 'open') this.#record(sent, res);
    } catch (e) {
      if (e instanceof SessionNotFoundError) this.#end('lost', e);
      throw e;
    }
  }

  /** Takes in a creation or renewal that the server answered after `sent`: the server's
   * end is at least three renewal intervals after it answered, so after `sent`. */
  #record(sent: number, res: { expires_at: string; renew_after_ms: number }): void {
    this.#deadline = Math.max(this.#deadline, sent + 3 * res.renew_after_ms);
    if (Date.parse(res.expires_at) > Date.parse(this.expiresAt)) this.expiresAt = res.expires_at;
    this.renewAfterMs = res.renew_after_ms;
    for (const lease of this.#leases) lease.sessionRenewed(this.expiresAt, this.renewAfterMs);
  }

  #schedule(ms: number): void {
    if (this.#state !== 'open') return;
    // Never past the deadline: the loss is signalled when it passes, renewed or not.
    this.#timer = setTimeout(() => void this.#tick(), Math.max(10, Math.min(ms, this.#deadline - Date.now())));
    // A forgotten session must not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** One keep-alive: renew, bounded by the deadline; retry sooner after a failure. */
  async #tick(): Promise<void> {
    if (this.#state !== 'open') return;
    let left = this.#deadline - Date.now();
    if (left <= 0) return this.#expire();
    try {
      await this.#renewOnce(Math.max(1, Math.min(this.#client.timeoutMs, left)));
      this.#lastError = undefined;
      this.#schedule(this.renewAfterMs);
    } catch (e) {
      if (this.#state !== 'open') return; // closed, orphaned, or lost (session_not_found)
      this.#lastError = e instanceof OctoStoreError ? e : new OctoStoreError('lost', String(e), { cause: e });
      left = this.#deadline - Date.now();
      if (left <= 0) return this.#expire();
      let next = Math.max(10, Math.min(1000, left / 3));
      if (e instanceof RateLimitedError || e instanceof UnavailableError) next = Math.min(next, Math.max(100, (e.retryAfter ?? 0) * 1000));
      this.#schedule(next);
    }
  }

  #expire(): void {
    this.#end('lost', this.#lastError ?? new OctoStoreError('lost', 'no renewal of the session succeeded before it would have expired'));
  }

  #leaseReason(): OctoStoreError {
    if (this.#state === 'lost' && this.#why !== undefined) return this.#why;
    return new OctoStoreError(this.#state === 'closed' ? 'session_closed' : 'session_orphaned', `its session ${this.#state === 'closed' ? 'was closed' : 'was orphaned'}`);
  }

  #end(state: 'lost' | 'closed' | 'orphaned', why: OctoStoreError): void {
    if (this.#state !== 'open') return;
    this.#state = state;
    this.#why = why;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#client.sessions.delete(this);
    const leases = [...this.#leases];
    this.#leases.clear();
    const reason = this.#leaseReason();
    for (const lease of leases) lease.sessionEnded(reason);
    if (state === 'lost') this.#lost.abort(why);
  }
}

/**
 * Leader election on one lock, modelled on etcd's `concurrency.Election`: the leader
 * holds the lock and publishes a value (its address, say) as the lock's metadata.
 */
export class Election implements AsyncDisposable {
  readonly name: string;
  readonly ttl: number;
  /** The leadership lease while this election leads. */
  lease: Lease | undefined;
  readonly #client: OctoStore;

  constructor(client: OctoStore, name: string, ttl = 15) {
    this.#client = client;
    this.name = name;
    this.ttl = ttl;
  }

  /** Waits (at most `wait` seconds; default for ever) to lead with `value`; returns the leadership lease. */
  async campaign(value: string, options: { wait?: number; signal?: AbortSignal } = {}): Promise<Lease> {
    this.lease = await this.#client.lock(this.name, { ttl: this.ttl, metadata: value, ...options });
    return this.lease;
  }

  /** The current leader, or null. */
  async leader(): Promise<Leader | null> {
    return toLeader(await this.#client.status(this.name));
  }

  /**
   * Yields the current leader (or null), then each change of leader or value, until
   * `timeoutMs` passes or `signal` aborts. Built on watch: nothing is missed between
   * two yields, though several changes may arrive as one.
   */
  async *observe(options: { timeoutMs?: number; signal?: AbortSignal; pollWait?: number } = {}): AsyncGenerator<Leader | null> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    let state = await this.#client.status(this.name);
    // Nobody leading is one state: a lock-delay that ends (the lock becomes free) is no
    // change, so "no leader" is not reported twice.
    const key = (l: Leader | null) => (l === null ? 'none' : `${l.fencingToken}|${l.value}`);
    let leader = toLeader(state);
    let last = key(leader);
    yield leader;
    let index = state.revision;
    for (;;) {
      if (options.signal?.aborted) return;
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0) return;
      const wait = Math.max(1, Math.min(options.pollWait ?? 30, waitChunk(remaining)));
      const started = Date.now();
      try {
        state = await this.#client.watch(this.name, index, wait, options.signal);
      } catch (e) {
        if (options.signal?.aborted) return;
        throw e;
      }
      if (state.revision <= index && Date.now() - started < wait * 900) {
        await sleep(DEFAULT_RETRY_MS); // a server without watch: poll gently
      }
      index = Math.max(index, state.revision);
      leader = toLeader(state);
      if (key(leader) !== last) {
        last = key(leader);
        yield leader;
      }
    }
  }

  /** Gives up leadership if this election holds it. */
  async resign(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined) await lease.release();
  }

  /** End of scope: resigns if still leading; after a loss it returns at once. */
  async close(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    if (lease !== undefined) await lease.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export { ProblemError };
