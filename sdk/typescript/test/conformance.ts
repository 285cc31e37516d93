// Executes one sdk/conformance scenario through the TypeScript helpers. The `ops` table
// maps the suite's operations to this SDK's helper calls; `flat*` turn helper results
// into the suite's flat results.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import {
  Election,
  InvalidLockNameError,
  InvalidRequestError,
  InvalidTtlError,
  Lease,
  LeaseNotCurrentError,
  LockHeldError,
  LockLimitExceededError,
  LockLostError,
  LockTimeoutError,
  MaxHoldersMismatchError,
  OctoStore,
  OctoStoreError,
  PayloadTooLargeError,
  Session,
  SessionNotFoundError,
  TransportError,
  UnauthorizedError,
  type Leader,
  type LockOptions,
  type LockState,
  type PrefixChanges,
} from '../src/index.js';
import { Server, type Servers } from './harness.js';

// build-test/test/conformance.js → sdk/conformance
export const CONFORMANCE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'conformance');

export function scenarioFiles(): string[] {
  return readdirSync(join(CONFORMANCE, 'scenarios'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(CONFORMANCE, 'scenarios', f));
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Result = Record<string, unknown>;
type Step = Record<string, any>;
const REF = /\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}/g;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MISSING = Symbol('missing');

class StepFailed extends Error {}

/** The error a `with_lock` body raises; seen coming out of the helper it is `user_error`. */
class UserError extends Error {}

/** A client-side failure of the runner's own making with a suite error code. */
class SuiteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The type a user catches for each suite error code: the most specific one the SDK
 * documents. A step's error must be an instance of it, not merely carry its code, so an
 * SDK that throws a general error with the right code still fails.
 */
const ERROR_TYPES: Record<string, new (...args: never[]) => Error> = {
  invalid_lock_name: InvalidLockNameError,
  invalid_request: InvalidRequestError,
  invalid_ttl: InvalidTtlError,
  lease_not_current: LeaseNotCurrentError,
  lock_limit_exceeded: LockLimitExceededError,
  lock_lost: LockLostError,
  max_holders_mismatch: MaxHoldersMismatchError,
  payload_too_large: PayloadTooLargeError,
  session_not_found: SessionNotFoundError,
  timeout: LockTimeoutError,
  transport: TransportError,
  unauthorized: UnauthorizedError,
  user_error: UserError, // the block's own error: withLock must let it out unchanged
};

/** A suite regular expression as a JavaScript one (a leading `(?i)` becomes the i flag). */
function regex(re: string): RegExp {
  return re.startsWith('(?i)') ? new RegExp(re.slice(4), 'i') : new RegExp(re);
}

/** http://127.0.0.1:P where P was bound and closed again: nothing listens there. */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

// ---- flat results -------------------------------------------------------------------

function flatLease(l: Lease): Result {
  return { acquired: true, lease_id: l.leaseId, fencing_token: l.fencingToken, expires_at: l.expiresAt, renew_after_ms: l.renewAfterMs };
}

function flatHeld(e: LockHeldError): Result {
  return { acquired: false, holder_id: e.holderId, expires_at: e.expiresAt, retry_after_ms: e.retryAfterMs, available_at: e.availableAt };
}

function flatState(s: LockState): Result {
  return {
    name: s.name,
    status: s.status,
    revision: s.revision,
    holder_id: s.holderId,
    fencing_token: s.fencingToken,
    expires_at: s.expiresAt,
    metadata: s.metadata,
    max_holders: s.maxHolders,
    holder_count: s.holders?.length ?? 0,
    available_at: s.availableAt,
  };
}

function flatPrefix(a: PrefixChanges): Result {
  const changes = a.changes.map((c) => `${c.name}:${c.status}`);
  return { index: a.index, changes, count: changes.length, complete: a.complete };
}

/** The helper a try_lock or lock step goes through: the client's lock forms, or a
 * semaphore's (max_holders), either of them through a saved session (session). */
interface LockForms {
  tryAcquire(options: LockOptions): Promise<Lease | LockHeldError>;
  lock(options: LockOptions): Promise<Lease>;
}

function flatLeader(l: Leader | null): Result {
  if (l === null) return { elected: false };
  return { elected: true, value: l.value, holder_id: l.holderId, fencing_token: l.fencingToken, revision: l.revision };
}

// ---- matching -----------------------------------------------------------------------

function comparable(a: unknown, b: unknown): [unknown, unknown] {
  if (typeof a === 'string' && typeof b === 'string' && TIMESTAMP.test(a) && TIMESTAMP.test(b)) return [Date.parse(a), Date.parse(b)];
  return [a, b];
}

function equal(actual: unknown, expected: unknown): boolean {
  if (expected === null) return actual === null || actual === undefined || actual === MISSING;
  if (actual === MISSING || actual === undefined) return false;
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && actual.every((x, i) => equal(x, expected[i]));
  const [a, e] = comparable(actual, expected);
  return a === e;
}

function matches(actual: unknown, matcher: unknown): boolean {
  if (matcher === null || typeof matcher !== 'object' || Array.isArray(matcher)) return equal(actual, matcher);
  const [[op, v]] = Object.entries(matcher) as [[string, unknown]];
  const present = actual !== MISSING && actual !== undefined && actual !== null;
  switch (op) {
    case 'eq':
      return equal(actual, v);
    case 'ne':
      return !equal(actual, v);
    case 'present':
      return present === v;
    case 'matches':
      return typeof actual === 'string' && regex(v as string).test(actual);
  }
  if (!present) return false;
  const [a, e] = comparable(actual, v);
  if (typeof a !== typeof e || (typeof a !== 'number' && typeof a !== 'string')) return false;
  const x = a as number, y = e as number;
  return op === 'gt' ? x > y : op === 'ge' ? x >= y : op === 'lt' ? x < y : op === 'le' ? x <= y : false;
}

function mismatches(result: Result, expect: Record<string, unknown> = {}): string[] {
  return Object.entries(expect)
    .filter(([k, m]) => !matches(k in result ? result[k] : MISSING, m))
    .map(([k, m]) => `${k}: got ${JSON.stringify(result[k])}, want ${JSON.stringify(m)}`);
}

// ---- the runner ---------------------------------------------------------------------

interface Actor {
  client: OctoStore | undefined;
  token: string | undefined;
  values: Record<string, unknown>;
}

export class Runner {
  server!: Server;
  dedicated: Server | undefined;
  actors = new Map<string, Actor>();
  saved = new Map<string, Result>();
  leases = new Map<string, Lease>();
  elections = new Map<string, Election>();
  sessions = new Map<string, Session>();
  allLeases: Lease[] = [];
  allSessions: Session[] = [];
  tasks = new Map<string, Promise<Result>>();
  aborts = new AbortController();

  constructor(readonly sc: Record<string, any>) {}

  async run(servers: Servers): Promise<void> {
    if (this.sc.server?.dedicated) {
      this.dedicated = new Server(this.sc.server?.env ?? {});
      await this.dedicated.start();
      this.server = this.dedicated;
    } else {
      this.server = await servers.get(this.sc.server?.env);
    }
    await this.makeActors();
    const steps: Step[] = this.sc.steps;
    for (const [i, raw] of steps.entries()) {
      try {
        await this.step(this.resolve(raw) as Step);
      } catch (e) {
        if (e instanceof StepFailed) throw new StepFailed(`${this.sc.name} step ${i} ${JSON.stringify(raw)}: ${e.message}`);
        throw e;
      }
    }
  }

  async makeActors(): Promise<void> {
    const accounts = new Map<string, string>();
    for (const [name, spec] of Object.entries(this.sc.actors as Record<string, any>)) {
      let token: string | undefined, tokenId: string | undefined, accountId: string | undefined;
      if (spec.account !== undefined) {
        const known = accounts.get(spec.account);
        if (known === undefined) {
          const acc = await this.server.createAccount(spec.account);
          accounts.set(spec.account, acc.account_id);
          [token, tokenId, accountId] = [acc.token, acc.token_id, acc.account_id];
        } else {
          const t = await this.server.createToken(known);
          [token, tokenId, accountId] = [t.token, t.token_id, known];
        }
      } else if (spec.same_token_as !== undefined) {
        const other = this.actors.get(spec.same_token_as)!;
        [token, tokenId, accountId] = [other.token, other.values.token_id as string, other.values.account_id as string];
      } else if (spec.token !== undefined) {
        token = spec.token;
      }
      const owner: string | undefined = spec.owner;
      let baseUrl: string[] = [this.server.url];
      if (spec.urls === 'dead_first') baseUrl = [await deadUrl(), this.server.url];
      else if (spec.urls === 'dead_only') baseUrl = [await deadUrl()];
      else if (spec.urls !== undefined) throw new StepFailed(`actor ${name}: unknown urls ${JSON.stringify(spec.urls)}`);
      const client = token === undefined ? undefined : new OctoStore({ baseUrl, token, ...(owner !== undefined ? { owner } : {}) });
      const values: Record<string, unknown> = { token_id: tokenId ?? null, account_id: accountId ?? null, owner: null, holder_id: null };
      if (client !== undefined && tokenId !== undefined) {
        values.owner = client.owner;
        values.holder_id = `${tokenId}/${client.owner}`;
      }
      this.actors.set(name, { client, token, values });
    }
  }

  async close(): Promise<void> {
    this.aborts.abort();
    await Promise.allSettled(this.tasks.values());
    for (const e of this.elections.values()) await e.resign().catch(() => undefined);
    for (const l of this.allLeases) if (!l.lost) await l.release().catch(() => undefined);
    for (const l of this.allLeases) l.stop();
    for (const s of this.allSessions) await s.close().catch(() => undefined);
    await this.dedicated?.stop();
  }

  resolve(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.resolve(x));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.resolve(x)]));
    if (typeof v !== 'string') return v;
    const whole = /^\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}$/.exec(v);
    if (whole) return this.lookup(whole[1]!, whole[2]!);
    return v.replace(REF, (_, n: string, f: string) => String(this.lookup(n, f)));
  }

  lookup(name: string, field: string): unknown {
    const src = this.actors.get(name)?.values ?? this.saved.get(name);
    if (src === undefined) throw new StepFailed(`unknown reference \${${name}.${field}}`);
    if (!(field in src)) throw new StepFailed(`reference \${${name}.${field}}: no such field`);
    const v = src[field];
    return v === undefined ? null : v;
  }

  client(step: Step): OctoStore {
    const c = this.actors.get(step.actor)?.client;
    if (!c) throw new StepFailed(`actor ${step.actor} has no token; use it in raw steps only`);
    return c;
  }

  async step(step: Step): Promise<void> {
    const op = step.op as string;
    if (op === 'await') {
      const task = this.tasks.get(step.task);
      if (!task) throw new StepFailed(`no task ${step.task}`);
      this.tasks.delete(step.task);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), step.timeout_ms)));
      const settled = await Promise.race([task.then(() => 'done', () => 'done'), timeout]);
      clearTimeout(timer);
      if (settled === 'timeout') throw new StepFailed(`task ${step.task} still running after ${step.timeout_ms} ms`);
      await this.check(step, () => task);
      // The handle a background lock or campaign made is known by its task name.
      for (const m of [this.leases, this.elections] as Map<string, unknown>[]) {
        if (m.has(step.task) && step.save) m.set(step.save, m.get(step.task));
      }
      return;
    }
    const fn = this.ops[op];
    if (!fn) throw new StepFailed(`unknown op ${op}`);
    if (step.background) {
      const p = fn(step);
      p.catch(() => undefined); // checked by its await
      this.tasks.set(step.background, p);
      return;
    }
    await this.check(step, () => fn(step));
  }

  async check(step: Step, call: () => Promise<Result>): Promise<void> {
    const wantErr = step.expect_error as { code: string; status?: number; message_matches?: string } | undefined;
    let result: Result;
    try {
      result = await call();
    } catch (e) {
      let code: string;
      if (e instanceof UserError) code = 'user_error';
      else if (e instanceof OctoStoreError || e instanceof SuiteError) code = e.code;
      else throw e;
      const err = e as Error;
      if (wantErr === undefined) throw new StepFailed(`unexpected error ${err.name} code=${code}: ${err.message}`);
      const status = (e as { status?: number }).status;
      if (code !== wantErr.code || (wantErr.status !== undefined && status !== wantErr.status)) {
        throw new StepFailed(`got error code=${code} status=${status} (${err.message}), want ${JSON.stringify(wantErr)}`);
      }
      // A SuiteError is the runner's own deadline (wait_lost, close): no SDK type to check.
      if (!(e instanceof SuiteError)) {
        const want = ERROR_TYPES[code];
        if (want === undefined) throw new StepFailed(`error code ${code} has no type in ERROR_TYPES; add it to the table`);
        if (!(e instanceof want)) throw new StepFailed(`error code=${code} is a ${err.constructor.name}, want a ${want.name} (${err.message})`);
      }
      if (wantErr.message_matches !== undefined && !regex(wantErr.message_matches).test(err.message)) {
        throw new StepFailed(`error message ${JSON.stringify(err.message)} does not match ${JSON.stringify(wantErr.message_matches)}`);
      }
      return;
    }
    if (wantErr !== undefined) throw new StepFailed(`succeeded with ${JSON.stringify(result)}, want error ${JSON.stringify(wantErr)}`);
    const bad = mismatches(result, step.expect);
    if (bad.length) throw new StepFailed(`${bad.join('; ')}  (result ${JSON.stringify(result)})`);
    if (step.save) this.saved.set(step.save, result);
  }

  keep(step: Step, lease: Lease): void {
    this.allLeases.push(lease);
    const key = step.save ?? step.background;
    if (key) this.leases.set(key, lease);
  }

  /** Waits for a lease's or session's loss signal; `timeout` at the deadline. */
  async waitLost(l: Lease | Session, timeoutMs: number): Promise<void> {
    if (l.signal.aborted) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lost = await Promise.race([
      new Promise<boolean>((r) => l.signal.addEventListener('abort', () => r(true), { once: true })),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!lost) throw new SuiteError('timeout', `${l instanceof Session ? 'session' : 'lease'} not lost within ${timeoutMs} ms`);
  }

  session(step: Step): Session {
    const s = this.sessions.get(step.session);
    if (!s) throw new StepFailed(`no session ${step.session}`);
    return s;
  }

  /** client.tryAcquire/lock, client.semaphore(name, n), session.tryAcquire/lock or session.semaphore(name, n). */
  forms(s: Step): LockForms {
    const name: string = s.lock;
    if (s.session !== undefined) {
      const session = this.session(s);
      if (s.max_holders !== undefined) return session.semaphore(name, s.max_holders);
      return { tryAcquire: (o) => session.tryAcquire(name, o), lock: (o) => session.lock(name, o) };
    }
    const client = this.client(s);
    if (s.max_holders !== undefined) return client.semaphore(name, s.max_holders);
    return { tryAcquire: (o) => client.tryAcquire(name, o), lock: (o) => client.lock(name, o) };
  }

  /** The lock options of a try_lock or lock step (ttl and auto_renew do not apply through a session). */
  lockOptions(s: Step): LockOptions {
    const o: LockOptions = { ttl: s.ttl, autoRenew: s.auto_renew ?? true };
    if (s.metadata !== undefined) o.metadata = s.metadata;
    if (s.lock_delay !== undefined) o.lockDelay = s.lock_delay;
    return o;
  }

  /** Releases a lease with a plain HTTP request, behind the helper's back. */
  async releaseBehind(s: Step, lease: Lease): Promise<void> {
    const token = this.actors.get(s.actor)?.token;
    const r = await fetch(`${this.server.url}/locks/${encodeURIComponent(lease.name)}/release`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lease_id: lease.leaseId }),
      signal: AbortSignal.timeout(10_000),
    });
    await r.text();
    if (r.status !== 200) throw new StepFailed(`release behind the helper's back: HTTP ${r.status}`);
  }

  lease(step: Step): Lease {
    const l = this.leases.get(step.lease);
    if (!l) throw new StepFailed(`no lease ${step.lease}`);
    return l;
  }

  ops: Record<string, (step: Step) => Promise<Result>> = {
    try_lock: async (s) => {
      // tryAcquire is tryLock with the holder's details instead of null when held.
      const got = await this.forms(s).tryAcquire(this.lockOptions(s));
      if (got instanceof LockHeldError) return flatHeld(got);
      this.keep(s, got);
      return flatLease(got);
    },
    lock: async (s) => {
      const lease = await this.forms(s).lock({ ...this.lockOptions(s), wait: s.wait, signal: this.aborts.signal });
      this.keep(s, lease);
      return flatLease(lease);
    },
    session_open: async (s) => {
      const session = await this.client(s).session({ ttl: s.ttl });
      this.allSessions.push(session);
      if (s.save) this.sessions.set(s.save, session);
      return { session_id: session.id, expires_at: session.expiresAt };
    },
    session_state: async (s) => {
      const session = this.session(s);
      return { lost: session.lost, session_id: session.id };
    },
    session_close: async (s) => {
      await this.session(s).close();
      return {};
    },
    session_orphan: async (s) => {
      this.session(s).orphan();
      return {};
    },
    prefix_index: async (s) => ({ index: await this.client(s).prefixIndex(s.prefix) }),
    watch_prefix: async (s) => {
      // Follow the watch until its first answer, for at most `wait` seconds.
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), s.wait * 1000);
      const onClose = () => stop.abort();
      this.aborts.signal.addEventListener('abort', onClose, { once: true });
      try {
        for await (const answer of this.client(s).watchPrefix(s.prefix, Number(s.index), { signal: stop.signal })) return flatPrefix(answer);
        return { index: Number(s.index), changes: [], count: 0, complete: true };
      } finally {
        clearTimeout(timer);
        this.aborts.signal.removeEventListener('abort', onClose);
      }
    },
    with_lock: async (s) => {
      let held: Lease | undefined;
      const client = this.client(s);
      await client.withLock(s.lock, { ttl: s.ttl, wait: s.wait ?? 0 }, async (lease) => {
        held = lease;
        this.allLeases.push(lease);
        switch (s.body) {
          case 'return':
            return;
          case 'raise':
            throw new UserError('the block failed');
          case 'release_behind_then_raise':
            await this.releaseBehind(s, lease);
            throw new UserError('the block failed after its lease was released behind its back');
          case 'release_behind_then_wait_lost': {
            await this.releaseBehind(s, lease);
            await this.waitLost(lease, 10_000);
            return;
          }
          default:
            throw new StepFailed(`unknown with_lock body ${JSON.stringify(s.body)}`);
        }
      });
      return { ran: true, lease_id: held?.leaseId, fencing_token: held?.fencingToken };
    },
    close: async (s) => {
      const l = this.lease(s);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), s.timeout_ms)));
      const outcome = await Promise.race([l[Symbol.asyncDispose]().then(() => 'done' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') throw new SuiteError('timeout', `close did not return within ${s.timeout_ms} ms`);
      return {};
    },
    server_pause: async () => {
      if (this.dedicated === undefined) throw new StepFailed('server_pause needs "server": {"dedicated": true}');
      this.dedicated.pause();
      return {};
    },
    server_resume: async () => {
      if (this.dedicated === undefined) throw new StepFailed('server_resume needs "server": {"dedicated": true}');
      this.dedicated.resume();
      return {};
    },
    renew: async (s) => {
      const l = await this.lease(s).renew(s.ttl);
      const { acquired: _, ...rest } = flatLease(l);
      return rest;
    },
    release: async (s) => {
      const l = this.lease(s);
      await l.release();
      return { lease_id: l.leaseId, fencing_token: l.fencingToken };
    },
    lease_state: async (s) => {
      const l = this.lease(s);
      return { lost: l.lost, lease_id: l.leaseId, fencing_token: l.fencingToken, expires_at: l.expiresAt };
    },
    wait_lost: async (s) => {
      await this.waitLost(s.session !== undefined ? this.session(s) : this.lease(s), s.timeout_ms);
      return { lost: true };
    },
    status: async (s) => flatState(await this.client(s).status(s.lock)),
    wait_until: async (s) => {
      const deadline = Date.now() + s.timeout_ms;
      let pause = 50;
      for (;;) {
        const result = flatState(await this.client(s).status(s.lock));
        if (mismatches(result, s.until).length === 0) return result;
        if (Date.now() >= deadline) throw new StepFailed(`condition ${JSON.stringify(s.until)} not reached in ${s.timeout_ms} ms; last ${JSON.stringify(result)}`);
        await delay(pause);
        pause = Math.min(pause * 1.5, 200);
      }
    },
    watch: async (s) => flatState(await this.client(s).watch(s.lock, Number(s.index), s.wait, this.aborts.signal)),
    list: async (s) => {
      const names = (await this.client(s).list()).map((l) => l.name);
      return { names, count: names.length };
    },
    campaign: async (s) => {
      const election = this.client(s).election(s.election, { ttl: s.ttl });
      const lease = await election.campaign(s.value, { wait: s.wait, signal: this.aborts.signal });
      this.allLeases.push(lease);
      const key = s.save ?? s.background;
      if (key) this.elections.set(key, election);
      return { lease_id: lease.leaseId, fencing_token: lease.fencingToken, expires_at: lease.expiresAt, value: lease.metadata };
    },
    leader: async (s) => flatLeader(await this.client(s).election(s.election).leader()),
    observe: async (s) => {
      const election = this.client(s).election(s.election);
      for await (const leader of election.observe({ timeoutMs: s.timeout_ms, signal: this.aborts.signal, pollWait: 5 })) {
        const value = leader === null ? null : leader.value ?? null;
        if (value === s.until_value && (leader !== null || s.until_value === null)) return flatLeader(leader);
      }
      throw new LockTimeoutError(s.election, s.timeout_ms / 1000);
    },
    resign: async (s) => {
      const e = this.elections.get(s.campaign);
      if (!e) throw new StepFailed(`no campaign ${s.campaign}`);
      this.elections.delete(s.campaign);
      await e.resign();
      return {};
    },
    raw: async (s) => {
      const headers: Record<string, string> = {};
      const token = s.actor === undefined ? undefined : this.actors.get(s.actor)?.token;
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if ('body' in s) body = JSON.stringify(s.body);
      else if ('body_text' in s) body = s.body_text;
      if (body !== undefined) headers['content-type'] = s.content_type ?? 'application/json';
      const query = new URLSearchParams(Object.entries((s.query ?? {}) as Record<string, Json>).map(([k, v]) => [k, String(v)]));
      const url = this.server.url + s.path + (query.size ? `?${query}` : '');
      const r = await fetch(url, { method: s.method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(30_000) });
      const result: Result = {
        http_status: r.status,
        content_type: r.headers.get('content-type')?.split(';')[0]?.trim() || null,
        www_authenticate: r.headers.get('www-authenticate'),
        x_request_id: r.headers.get('x-request-id'),
      };
      const text = await r.text();
      try {
        const doc = JSON.parse(text);
        if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
          for (const [k, v] of Object.entries(doc)) if (!(k in result)) result[k] = v;
        }
      } catch {
        // not JSON
      }
      return result;
    },
  };
}

export function loadScenario(path: string): Record<string, any> {
  return JSON.parse(readFileSync(path, 'utf8'));
}
