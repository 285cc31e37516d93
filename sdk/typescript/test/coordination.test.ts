// Unit tests of the issue-16 helpers: sessions (keep-alive, loss signal, close, orphan),
// semaphores, lock-delay and prefix watches, with a stubbed fetch or a loopback socket,
// then against a live server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  LeaseNotCurrentError,
  LockHeldError,
  MaxHoldersMismatchError,
  OctoStore,
  OctoStoreError,
  Session,
  SessionNotFoundError,
  TooManyWaitersError,
  TransportError,
  api,
  problemError,
} from '../src/index.js';
import { Server } from './harness.js';
import { EXPIRES, SESSION, aborted, acquired, hang, json, loopback, problem, session, stubbed, until } from './stubs.js';

/** Request log of a stub: "METHOD /path" and the parsed JSON body, if any. */
interface Seen {
  what: string;
  query: URLSearchParams;
  body: unknown;
}

async function record(log: Seen[], req: Request): Promise<void> {
  const url = new URL(req.url);
  const text = await req.clone().text();
  log.push({ what: `${req.method} ${url.pathname}`, query: url.searchParams, body: text === '' ? undefined : JSON.parse(text) });
}

const renewed = (renewAfterMs: number) => json(200, { session_id: SESSION, ttl_seconds: 15, expires_at: EXPIRES, renew_after_ms: renewAfterMs });

describe('session requests', () => {
  test('creates with the default TTL of 15 s; locks through it send session_id and no TTL', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      return req.url.endsWith('/sessions') ? session() : acquired();
    });
    const s = await client.session();
    assert.equal(s.id, SESSION);
    assert.equal(s.ttl, 15);
    const lease = await s.lock('job', { lockDelay: 5, metadata: 'm', wait: 2 });
    await s.semaphore('pool', 3).tryLock({ lockDelay: 0 });
    assert.deepEqual(
      log.map((l) => [l.what, l.body]),
      [
        ['POST /sessions', { ttl_seconds: 15 }],
        ['POST /locks/job/acquire', { owner: client.owner, session_id: SESSION, wait_seconds: 2, metadata: 'm', lock_delay_seconds: 5 }],
        ['POST /locks/pool/acquire', { owner: client.owner, session_id: SESSION, lock_delay_seconds: 0, max_holders: 3 }],
      ],
    );
    assert.equal(lease.session, s);
    s.orphan();
  });

  test('lockDelay and semaphore(name, n) on the client send lock_delay_seconds and max_holders with the TTL', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      return acquired();
    }, { owner: 'o' });
    await client.tryLock('a', { ttl: 5, lockDelay: 30, autoRenew: false });
    await client.semaphore('b', 64).lock({ ttl: 7, wait: 0, autoRenew: false });
    assert.deepEqual(log.map((l) => l.body), [
      { ttl_seconds: 5, owner: 'o', lock_delay_seconds: 30 },
      { ttl_seconds: 7, owner: 'o', max_holders: 64 },
    ]);
    await client.releaseAll().catch(() => undefined);
  });

  test('a semaphore admits 1 to 64 holders', () => {
    const client = stubbed(() => acquired());
    for (const n of [0, 65, 1.5, Number.NaN]) assert.throws(() => client.semaphore('pool', n), RangeError);
    assert.equal(client.semaphore('pool', 1).n, 1);
  });

  test('the keep-alive renews every renew_after_ms; a lease bound to the session is not renewed on its own', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      if (req.url.endsWith('/sessions')) return session(30);
      if (req.url.endsWith('/renew') && req.url.includes('/sessions/')) return renewed(30);
      return acquired(3, 30);
    });
    const s = await client.session({ ttl: 1 });
    const lease = (await s.tryLock('job'))!;
    await until(() => log.filter((l) => l.what === `POST /sessions/${SESSION}/renew`).length >= 4, 5_000, 'four session renewals');
    assert.equal(log.filter((l) => l.what === 'POST /locks/job/renew').length, 0);
    assert.equal(s.lost, false);
    assert.equal(lease.lost, false);
    assert.ok(s.deadline > Date.now());
    await s.close();
  });
});

describe('session loss', () => {
  test('the server no longer knows it: the signal aborts with SessionNotFoundError, its leases end, nothing more is acquired through it', async () => {
    const log: Seen[] = [];
    let deleted = false;
    const client = stubbed(async (req) => {
      await record(log, req);
      if (req.url.endsWith('/sessions')) return session(50);
      if (req.url.includes('/sessions/')) return deleted ? problem('session_not_found', 404) : renewed(50);
      return acquired(3, 50);
    });
    const s = await client.session({ ttl: 1 });
    const lease = (await s.tryLock('job'))!;
    deleted = true; // behind the helper's back
    const from = log.length;
    await aborted(s.signal, 5_000, 'session signal');
    assert.equal(log.slice(from).filter((l) => l.what.endsWith('/renew')).length, 1, 'lost at the first refusal, not retried');
    assert.ok(s.lost);
    assert.ok(s.signal.reason instanceof SessionNotFoundError);
    assert.ok(lease.lost, 'the lease bound to it ended with it');
    assert.ok(lease.signal.reason instanceof SessionNotFoundError);
    const before = log.length;
    await assert.rejects(s.tryLock('other'), (e: unknown) => e instanceof SessionNotFoundError && e.status === 404 && e.cause === s.signal.reason);
    assert.equal(log.length, before, 'no request through a lost session');
    await s.close(); // at once, without raising or asking
    assert.equal(log.length, before);
    assert.ok(s.lost, 'closing after a loss leaves it lost');
  });

  test('a stalled server: the loss fires at the session deadline, not after the request timeout', async () => {
    let stalled = false;
    let renewals = 0;
    const srv = await loopback((req, res) => {
      if (req.url?.endsWith('/renew')) renewals++;
      if (stalled) return; // accepted, never answered
      req.resume();
      req.on('end', () => {
        res.writeHead(req.url === '/sessions' ? 201 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ session_id: SESSION, ttl_seconds: 1, expires_at: EXPIRES, renew_after_ms: 200 }));
      });
    });
    try {
      const client = new OctoStore({ baseUrl: srv.url, token: 't', timeoutMs: 10_000 });
      const sent = Date.now();
      const s = await client.session({ ttl: 1 });
      stalled = true;
      await aborted(s.signal, 5_000, 'session signal');
      const took = Date.now() - sent;
      assert.ok(took >= 550 && took < 1_500, `lost after ${took} ms; the session had 600 ms`);
      assert.ok(s.signal.reason instanceof TransportError, String(s.signal.reason));
      assert.match(s.signal.reason.message, /timed out/);
      assert.ok(renewals >= 1);
    } finally {
      await srv.stop();
    }
  });

  test('an unreachable server: renewals are retried until the deadline, then the loss fires', async () => {
    const srv = await loopback((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ session_id: SESSION, ttl_seconds: 1, expires_at: EXPIRES, renew_after_ms: 200 }));
      });
    });
    const client = new OctoStore({ baseUrl: srv.url, token: 't', timeoutMs: 10_000 });
    const sent = Date.now();
    const s = await client.session({ ttl: 1 });
    await srv.stop(); // nothing listens there any more: connection refused
    await aborted(s.signal, 5_000, 'session signal');
    const took = Date.now() - sent;
    assert.ok(took >= 550 && took < 1_500, `lost after ${took} ms; the session had 600 ms`);
    assert.ok(s.signal.reason instanceof TransportError);
    assert.match(s.signal.reason.message, /connection refused|ECONNREFUSED/);
  });

  test('a 503 during the keep-alive is retried, and a later success keeps the session', async () => {
    let renewals = 0;
    const client = stubbed((req) => {
      if (req.url.endsWith('/sessions')) return session(100);
      renewals++;
      return renewals <= 2 ? problem('unavailable', 503, { 'retry-after': '0' }) : renewed(100);
    });
    const s = await client.session({ ttl: 1 });
    await until(() => renewals >= 5, 5_000, 'five renewals');
    assert.equal(s.lost, false, `lost: ${String(s.signal.reason)}`);
    s.orphan();
  });

  test('a hung keep-alive request is bounded by the deadline even when the request timeout is longer', async () => {
    const client = stubbed((req) => (req.url.endsWith('/sessions') ? session(100) : hang(req)), { timeoutMs: 60_000 });
    const sent = Date.now();
    const s = await client.session({ ttl: 1 });
    await aborted(s.signal, 5_000, 'session signal');
    assert.ok(Date.now() - sent < 1_000, `lost after ${Date.now() - sent} ms; the session had 300 ms`);
  });
});

describe('session end', () => {
  test('close deletes the session, is not a loss, and ends its leases; a second close asks nothing', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      if (req.url.endsWith('/sessions')) return session();
      if (req.method === 'DELETE') return new Response(null, { status: 204 });
      return acquired();
    });
    const s = await client.session();
    const lease = (await s.tryLock('job'))!;
    await s.close();
    assert.deepEqual(log.at(-1)?.what, `DELETE /sessions/${SESSION}`);
    assert.equal(s.lost, false);
    assert.equal(s.signal.aborted, false);
    assert.ok(s.ended);
    assert.ok(lease.lost, 'a lease bound to a closed session is over');
    await lease.close(); // returns at once
    await s.close();
    assert.equal(log.filter((l) => l.what.startsWith('DELETE')).length, 1);
    await assert.rejects(s.lock('job'), SessionNotFoundError);
  });

  test('close of a session the server no longer knows is not an error', async () => {
    const client = stubbed((req) => (req.url.endsWith('/sessions') ? session() : problem('session_not_found', 404)));
    const s = await client.session();
    await s.close();
    assert.equal(s.lost, false);
  });

  test('await using closes the session', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      return req.method === 'DELETE' ? new Response(null, { status: 204 }) : session();
    });
    {
      await using s = await client.session();
      assert.ok(s instanceof Session);
    }
    assert.deepEqual(log.map((l) => l.what), ['POST /sessions', `DELETE /sessions/${SESSION}`]);
  });

  test('orphan stops the keep-alive without deleting; it is not a loss', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      return req.url.endsWith('/sessions') ? session(20) : renewed(20);
    });
    const s = await client.session({ ttl: 1 });
    await until(() => log.length >= 2, 5_000, 'a renewal');
    s.orphan();
    const count = log.length;
    await new Promise((r) => setTimeout(r, 150)); // seven renewal intervals: none may come
    assert.equal(log.length, count);
    assert.ok(!log.some((l) => l.what.startsWith('DELETE')));
    assert.equal(s.lost, false);
    assert.ok(s.ended);
    await s.close(); // nothing to do after an orphan
    assert.equal(log.length, count);
  });

  test('releaseAll closes the sessions too', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      return req.method === 'DELETE' ? new Response(null, { status: 204 }) : session();
    });
    const s = await client.session();
    await client.releaseAll();
    assert.ok(s.ended);
    assert.ok(log.some((l) => l.what === `DELETE /sessions/${SESSION}`));
  });
});

describe('lock-delay and semaphore answers', () => {
  test('a held answer during a lock-delay has no holder and says when the delay ends', async () => {
    const client = stubbed(() =>
      json(200, { status: 'held', holder_id: null, expires_at: '2026-02-12T01:00:02Z', available_at: '2026-02-12T01:00:02Z', retry_after_ms: 900 }),
    );
    const got = await client.tryAcquire('printer');
    assert.ok(got instanceof LockHeldError);
    assert.equal(got.holderId, null);
    assert.equal(got.availableAt, '2026-02-12T01:00:02Z');
    assert.equal(got.retryAfterMs, 900);
    assert.match(got.message, /lock-delay until 2026-02-12T01:00:02Z/);
    assert.equal(await client.tryLock('printer'), null);
  });

  test('status reports holders, max_holders and available_at', async () => {
    const client = stubbed(() =>
      json(200, {
        name: 'pool',
        status: 'held',
        revision: 9,
        holder_id: 'tok_a/x',
        fencing_token: 4,
        expires_at: EXPIRES,
        max_holders: 3,
        holders: [
          { holder_id: 'tok_a/x', fencing_token: 4, expires_at: EXPIRES },
          { holder_id: 'tok_b/y', fencing_token: 5, expires_at: EXPIRES, metadata: 'm' },
        ],
      }),
    );
    const st = await client.status('pool');
    assert.equal(st.maxHolders, 3);
    assert.deepEqual(st.holders, [
      { holderId: 'tok_a/x', fencingToken: 4, expiresAt: EXPIRES },
      { holderId: 'tok_b/y', fencingToken: 5, expiresAt: EXPIRES, metadata: 'm' },
    ]);
    assert.equal(st.availableAt, undefined);
  });

  test('the new problem codes map to typed errors', async () => {
    for (const [code, status, cls] of [
      ['session_not_found', 404, SessionNotFoundError],
      ['max_holders_mismatch', 409, MaxHoldersMismatchError],
      ['too_many_waiters', 429, TooManyWaitersError],
    ] as const) {
      const r = problem(code, status);
      assert.ok(problemError(r, await r.json()) instanceof cls, code);
    }
  });
});

describe('prefix watch', () => {
  const change = (name: string, status: 'held' | 'free', revision: number) => ({ name, status, revision });

  test('prefixIndex asks for the prefix with one item and returns the index', async () => {
    const log: Seen[] = [];
    const client = stubbed(async (req) => {
      await record(log, req);
      return json(200, { locks: [], index: 41 });
    });
    assert.equal(await client.prefixIndex('jobs.'), 41);
    assert.equal(log[0]!.query.get('prefix'), 'jobs.');
    assert.equal(log[0]!.query.get('limit'), '1');
  });

  test('watchPrefix comes back with each index, skips empty answers, waits out 429/503, and ends with its signal', async () => {
    const log: Seen[] = [];
    const answers = [
      () => problem('too_many_waiters', 429, { 'retry-after': '0' }),
      () => json(200, { locks: [], index: 10, changes: [], complete: true }), // the wait ended
      () => json(200, { locks: [], index: 12, changes: [change('jobs.a', 'held', 12)], complete: true }),
      () => problem('unavailable', 503, { 'retry-after': '0' }),
      () => json(200, { locks: [], index: 15, changes: [change('jobs.a', 'free', 14), change('jobs.b', 'held', 15)], complete: true }),
      () => json(200, { locks: [], index: 20, changes: [change('jobs.c', 'held', 20)], complete: false }),
    ];
    const stop = new AbortController();
    const client = stubbed(async (req) => {
      await record(log, req);
      const next = answers.shift();
      return next ? next() : hang(req);
    });
    const seen: string[][] = [];
    for await (const a of client.watchPrefix('jobs.', 10, { signal: stop.signal, pollWait: 5 })) {
      seen.push([String(a.index), String(a.complete), ...a.changes.map((c) => `${c.name}:${c.status}`)]);
      if (seen.length === 3) setTimeout(() => stop.abort(), 20); // ends the pending long-poll
    }
    assert.deepEqual(seen, [
      ['12', 'true', 'jobs.a:held'],
      ['15', 'true', 'jobs.a:free', 'jobs.b:held'],
      ['20', 'false', 'jobs.c:held'],
    ]);
    assert.deepEqual(
      log.map((l) => l.query.get('index')),
      ['10', '10', '10', '12', '12', '15', '20'],
    );
    assert.ok(log.every((l) => l.query.get('prefix') === 'jobs.' && l.query.get('wait_seconds') === '5'));
  });

  test('watchPrefix throws other errors', async () => {
    const client = stubbed(() => problem('unauthorized', 401));
    await assert.rejects(async () => {
      for await (const _ of client.watchPrefix('jobs.', 0)) assert.fail('no answer expected');
    }, (e: unknown) => e instanceof OctoStoreError && e.code === 'unauthorized');
  });
});

describe('against a live server', () => {
  const server = new Server();
  let a: OctoStore;
  let b: OctoStore;
  let c: OctoStore;
  before(async () => {
    await server.start();
    const acc = await server.createAccount('coord');
    a = new OctoStore({ baseUrl: server.url, token: acc.token });
    b = new OctoStore({ baseUrl: server.url, token: (await server.createToken(acc.account_id)).token });
    c = new OctoStore({ baseUrl: server.url, token: (await server.createToken(acc.account_id)).token });
  });
  after(() => server.stop());

  test('a session deleted behind the helper’s back fires its loss signal, and its lease’s', async () => {
    const s = await a.session({ ttl: 2 });
    const lease = (await s.tryLock('ephemeral'))!;
    assert.ok(lease);
    const res = await api.deleteSession({ client: a.raw, path: { session_id: s.id } });
    assert.equal(res.response.status, 204);
    await aborted(s.signal, 10_000, 'session signal');
    assert.ok(s.signal.reason instanceof SessionNotFoundError);
    assert.ok(lease.lost);
    assert.equal((await b.status('ephemeral')).status, 'free');
    await assert.rejects(lease.release(), LeaseNotCurrentError);
  });

  test('a session keeps its lock past its TTL; close releases it at once', async () => {
    await using s = await a.session({ ttl: 1 });
    const lease = await s.lock('kept', { wait: 0, lockDelay: 30 });
    await assert.rejects(b.lock('kept', { wait: 2 }), (e: unknown) => e instanceof OctoStoreError && e.code === 'timeout');
    assert.equal((await b.status('kept')).fencingToken, lease.fencingToken);
    await s.close();
    const next = await b.tryLock('kept');
    assert.ok(next && next.fencingToken > lease.fencingToken, 'no lock-delay after a close');
    await next.release();
  });

  test('a lease through a session is released on its own; the session lives on', async () => {
    await using s = await a.session({ ttl: 5 });
    const lease = await s.lock('one-of-many', { wait: 0 });
    const other = await s.lock('two-of-many', { wait: 0 });
    await lease.release();
    assert.equal((await b.status('one-of-many')).status, 'free');
    assert.equal(lease.lost, false);
    assert.equal(s.ended, false);
    assert.equal((await b.status('two-of-many')).fencingToken, other.fencingToken);
    await s.close();
    assert.equal((await b.status('two-of-many')).status, 'free');
    assert.equal(lease.lost, false, 'a released lease is not ended again by its session');
  });

  test('a semaphore of 2: two holders, the third gets null, a mismatched n is refused', async () => {
    const one = await a.semaphore('pool', 2).tryLock({ ttl: 10 });
    const two = await b.semaphore('pool', 2).tryLock({ ttl: 10 });
    assert.ok(one && two && two.fencingToken > one.fencingToken);
    assert.equal(await c.semaphore('pool', 2).tryLock({ ttl: 10 }), null);
    await assert.rejects(c.semaphore('pool', 3).tryLock({ ttl: 10 }), MaxHoldersMismatchError);
    const st = await c.status('pool');
    assert.equal(st.maxHolders, 2);
    assert.equal(st.holders?.length, 2);
    await one.release();
    const three = await c.semaphore('pool', 2).withLock({ ttl: 10 }, (lease) => lease.fencingToken);
    assert.ok(three > two.fencingToken);
    await two.release();
  });

  test('an expired lease with a lock-delay keeps the lock from everyone until available_at', async () => {
    await a.tryLock('delayed', { ttl: 1, lockDelay: 2, autoRenew: false });
    let st = await b.status('delayed');
    const deadline = Date.now() + 5_000;
    while (st.holderId !== null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      st = await b.status('delayed');
    }
    assert.equal(st.status, 'held');
    assert.equal(st.holderId, null);
    assert.ok(st.availableAt);
    const got = await b.tryAcquire('delayed', { ttl: 5 });
    assert.ok(got instanceof LockHeldError && got.holderId === null && got.availableAt !== undefined);
    const lease = await b.lock('delayed', { ttl: 5, wait: 10 });
    assert.ok(Date.now() >= Date.parse(got.availableAt!) - 50, 'granted once the delay was over');
    await lease.release();
  });

  test('watchPrefix from prefixIndex sees a grant under the prefix and nothing outside it', async () => {
    const index = await b.prefixIndex('w.');
    const stop = new AbortController();
    const watching = (async () => {
      for await (const answer of b.watchPrefix('w.', index, { signal: stop.signal })) return answer;
      return undefined;
    })();
    const outside = await a.tryLock('x.outside', { ttl: 10 });
    const inside = await a.tryLock('w.inside', { ttl: 10 });
    const timer = setTimeout(() => stop.abort(), 10_000);
    const answer = await watching;
    clearTimeout(timer);
    assert.ok(answer, 'an answer before the deadline');
    assert.deepEqual(answer.changes.map((ch) => `${ch.name}:${ch.status}`), ['w.inside:held']);
    assert.ok(answer.index > index);
    await outside?.release();
    await inside?.release();
  });
});
