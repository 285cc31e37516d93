// Unit tests of the helpers: error mapping and retry logic with a stubbed fetch, and
// `await using`, loss signalling and elections against a live server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test } from 'node:test';

import {
  InvalidLockNameError,
  LeaseNotCurrentError,
  LockHeldError,
  LockLimitExceededError,
  LockTimeoutError,
  OctoStore,
  OctoStoreError,
  ProtocolError,
  ServerError,
  TransportError,
  UnavailableError,
  VERSION,
  api,
  defaultOwner,
  LockLostError,
  problemError,
} from '../src/index.js';
import { Server } from './harness.js';
import { EXPIRES, LEASE, acquired, held, json, problem, stubbed as stub } from './stubs.js';

const stubbed = (handler: (req: Request) => Response | Promise<Response>, owner?: string): OctoStore => stub(handler, owner ? { owner } : {});

describe('errors', () => {
  const cases: [string, number][] = [
    ['invalid_request', 400],
    ['invalid_lock_name', 400],
    ['invalid_ttl', 400],
    ['unauthorized', 401],
    ['lease_not_current', 409],
    ['lock_limit_exceeded', 409],
    ['payload_too_large', 413],
    ['unavailable', 503],
  ];
  for (const [code, status] of cases) {
    test(`${code} maps to its typed error`, async () => {
      const r = problem(code, status, { 'retry-after': '3' });
      const e = problemError(r, await r.json());
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(e.requestId, 'r-1');
      assert.equal(e.retryAfter, 3);
      assert.ok(e instanceof OctoStoreError);
    });
  }

  test('an answer without a problem document is a ServerError', () => {
    const e = problemError(new Response('bad gateway', { status: 502 }), 'bad gateway');
    assert.ok(e instanceof ServerError);
    assert.equal(e.code, 'unexpected_response');
  });

  test('helpers throw typed errors', async () => {
    await assert.rejects(stubbed(() => problem('lock_limit_exceeded', 409)).tryLock('job'), LockLimitExceededError);
    await assert.rejects(stubbed(() => problem('invalid_lock_name', 400)).status('a b'), InvalidLockNameError);
  });

  test('held: tryLock returns null, tryAcquire says who holds it', async () => {
    assert.equal(await stubbed(() => held()).tryLock('job'), null);
    const got = await stubbed(() => held()).tryAcquire('job');
    assert.ok(got instanceof LockHeldError);
    assert.equal(got.holderId, 'tok_aaaaaaaaaaaa');
    assert.equal(got.code, 'held');
  });

  test('a connection failure is a TransportError naming the URL and the cause', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const err = await stubbed(() => Promise.reject(new TypeError('fetch failed', { cause: refused }))).status('job').then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransportError);
    assert.match(err.message, /http:\/\/octostore\.invalid\/locks\/job/);
    assert.match(err.message, /connection refused/);
  });

  test('an empty lock name is an InvalidLockNameError', async () => {
    await assert.rejects(stubbed(() => acquired()).tryLock(''), InvalidLockNameError);
  });

  test('a success that does not match the API is a ProtocolError', async () => {
    await assert.rejects(stubbed(() => json(200, { status: 'acquired', expires_at: EXPIRES })).tryLock('job'), ProtocolError);
  });
});

describe('requests', () => {
  test('bodies carry the owner always, wait and metadata only when set', async () => {
    const bodies: unknown[] = [];
    const handler = async (req: Request) => {
      bodies.push(await req.json());
      return acquired();
    };
    const plain = stubbed(handler);
    await plain.tryLock('job', { autoRenew: false });
    await stubbed(handler, 'w-1').lock('job', { ttl: 10, wait: 5, metadata: 'm', autoRenew: false });
    assert.deepEqual(bodies, [{ ttl_seconds: 15, owner: plain.owner }, { ttl_seconds: 10, owner: 'w-1', wait_seconds: 5, metadata: 'm' }]);
  });

  test('the default owner is <host>-<pid>-<8 hex>, unique per client', () => {
    const one = stubbed(() => acquired()).owner;
    const two = stubbed(() => acquired()).owner;
    assert.match(one, new RegExp(`^.+-${process.pid}-[0-9a-f]{8}$`));
    assert.notEqual(one, two);
    assert.equal(defaultOwner().split('-').at(-2), String(process.pid));
  });

  test('several base URLs: a transport error or a 503 moves to the next', async () => {
    const seen: string[] = [];
    const fetchStub = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      seen.push(new URL(req.url).host);
      if (req.url.startsWith('http://a.invalid')) throw new TypeError('fetch failed');
      if (req.url.startsWith('http://b.invalid')) return problem('unavailable', 503);
      assert.deepEqual(await req.json(), { ttl_seconds: 5, owner: 'o' });
      return acquired();
    }) as typeof fetch;
    const client = new OctoStore({ baseUrl: ['http://a.invalid', 'http://b.invalid/', 'http://c.invalid'], token: 't', owner: 'o', fetch: fetchStub });
    const lease = await client.tryLock('job', { ttl: 5, autoRenew: false });
    assert.ok(lease);
    assert.deepEqual(seen, ['a.invalid', 'b.invalid', 'c.invalid']);
    seen.length = 0;
    await client.tryLock('job', { ttl: 5, autoRenew: false });
    assert.deepEqual(seen, ['c.invalid'], 'the next request starts with the URL that answered');
  });

  test('lock names are path-encoded', async () => {
    const paths: string[] = [];
    await assert.rejects(
      stubbed((req) => {
        paths.push(new URL(req.url).pathname);
        return problem('invalid_lock_name', 400);
      }).tryLock('a b/c'),
      InvalidLockNameError,
    );
    assert.deepEqual(paths, ['/locks/a%20b%2Fc/acquire']);
  });

  test('lock retries an early held until granted', async () => {
    const answers = [held(), held(), acquired(9)];
    const lease = await stubbed(() => answers.shift()!).lock('job', { wait: 30, autoRenew: false });
    assert.equal(lease.fencingToken, 9);
  });

  test('lock with no wait is one attempt', async () => {
    let calls = 0;
    await assert.rejects(
      stubbed(() => {
        calls++;
        return held();
      }).lock('job', { wait: 0 }),
      LockTimeoutError,
    );
    assert.equal(calls, 1);
  });

  test('renewals failing until the lease ends abort its signal', async () => {
    const client = stubbed((req) => (req.url.endsWith('/acquire') ? acquired(3, 50) : problem('unavailable', 503)));
    const lease = (await client.tryLock('job', { ttl: 1 }))!;
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('lease not lost within 10 s')), 10_000);
      lease.signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
    });
    assert.ok(lease.lost);
    assert.ok(lease.signal.reason instanceof UnavailableError);
  });
});

describe('election observe', () => {
  test('nobody leading is one report: a lock-delay that ends is no change', async () => {
    // The server's answers in turn: alice leads; her lease ended and a lock-delay keeps
    // the lock (held, no holder); the delay ends (free); bob leads.
    const alice = { name: 'leader', status: 'held', revision: 1, holder_id: 'tok_a/alice', fencing_token: 5, expires_at: EXPIRES, metadata: 'alice:8080' };
    const states = [
      alice,
      { name: 'leader', status: 'held', revision: 2, holder_id: null, max_holders: 1, holders: [], available_at: EXPIRES },
      { name: 'leader', status: 'free', revision: 3 },
      { ...alice, revision: 4, holder_id: 'tok_b/bob', fencing_token: 9, metadata: 'bob:8080' },
    ];
    let asked = 0;
    const client = stubbed(() => json(200, states[Math.min(asked++, states.length - 1)]));
    const seen: (string | null)[] = [];
    for await (const leader of client.election('leader').observe({ timeoutMs: 10_000, pollWait: 1 })) {
      seen.push(leader === null ? null : leader.value ?? '');
      if (leader?.value === 'bob:8080') break;
    }
    assert.deepEqual(seen, ['alice:8080', null, 'bob:8080']);
    assert.equal(asked, 4, 'every state was read');
  });
});

describe('lease deadline', () => {
  test('a hung renewal is bounded by the lease: the loss fires at its end, not after the request timeout', async () => {
    const hang = (req: Request) =>
      new Promise<Response>((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true }));
    const fetchStub = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      return req.url.endsWith('/acquire') ? acquired(3, 200) : hang(req); // 600 ms left at the grant
    }) as typeof fetch;
    const client = new OctoStore({ baseUrl: 'http://octostore.invalid', token: 't', timeoutMs: 10_000, fetch: fetchStub });
    const started = Date.now();
    const lease = (await client.tryLock('job', { ttl: 1 }))!;
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('lease not lost within 5 s')), 5_000);
      lease.signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
    });
    const took = Date.now() - started;
    assert.ok(took < 1_600, `lost after ${took} ms; the lease had 600 ms`);
    assert.ok(lease.signal.reason instanceof TransportError);
  });

  test('a renewal to a server that stopped answering ends at the lease end, also when the garbage collector runs', async () => {
    // A real socket (the fetch holds its abort signal only weakly): the server grants,
    // then accepts every further request and never answers.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let stalled = false;
    const server = createServer((req, res) => {
      if (stalled) return;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'acquired', lease_id: LEASE, fencing_token: 5, expires_at: EXPIRES, renew_after_ms: 200 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const collect = setInterval(gc, 20);
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const client = new OctoStore({ baseUrl: url, token: 't', timeoutMs: 10_000 });
      const started = Date.now();
      const lease = (await client.tryLock('job', { ttl: 1 }))!;
      stalled = true;
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('lease not lost within 5 s')), 5_000);
        lease.signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
      });
      const took = Date.now() - started;
      assert.ok(took < 1_600, `lost after ${took} ms; the lease had 600 ms`);
      assert.ok(lease.signal.reason instanceof TransportError);
      assert.match(lease.signal.reason.message, /timed out/);
    } finally {
      clearInterval(collect);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('the deadline counts from the grant, not from when a blocking acquire was sent', async () => {
    let renewals = 0;
    const fetchStub = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (req.url.endsWith('/acquire')) {
        await new Promise((r) => setTimeout(r, 1_200)); // granted after longer than the TTL
        return acquired(4, 300);
      }
      renewals++;
      if (renewals === 1) return problem('unavailable', 503); // one transient failure: retried
      return json(200, { status: 'renewed', lease_id: LEASE, fencing_token: 4, expires_at: EXPIRES, renew_after_ms: 300 });
    }) as typeof fetch;
    const client = new OctoStore({ baseUrl: 'http://octostore.invalid', token: 't', fetch: fetchStub });
    const lease = await client.lock('job', { ttl: 1, wait: 5 });
    const deadline = Date.now() + 5_000;
    while (renewals < 3 && Date.now() < deadline && !lease.lost) await new Promise((r) => setTimeout(r, 50));
    assert.equal(lease.lost, false, `lost: ${String(lease.signal.reason)}`);
    assert.ok(renewals >= 3);
    lease.stop();
  });
});

test('VERSION has one source (package.json)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(VERSION, pkg.version);
});

test('Symbol.asyncDispose is defined', () => {
  assert.equal(typeof Symbol.asyncDispose, 'symbol');
});

describe('against a live server', () => {
  const server = new Server();
  let a: OctoStore;
  let b: OctoStore;
  before(async () => {
    await server.start();
    const acc = await server.createAccount('unit');
    const other = await server.createToken(acc.account_id);
    a = new OctoStore({ baseUrl: server.url, token: acc.token });
    b = new OctoStore({ baseUrl: server.url, token: other.token });
  });
  after(() => server.stop());

  test('await using holds the lock for the scope and releases it', async () => {
    {
      await using lease = await a.lock('report', { ttl: 5, wait: 5 });
      assert.equal((await b.status('report')).fencingToken, lease.fencingToken);
      assert.equal(await b.tryLock('report'), null);
    }
    assert.equal((await b.status('report')).status, 'free');
  });

  test('await using releases when the scope throws', async () => {
    await assert.rejects(async () => {
      await using _lease = await a.lock('crashy', { ttl: 5, wait: 5 });
      throw new Error('boom');
    }, /boom/);
    assert.equal((await b.status('crashy')).status, 'free');
  });

  test('the signal aborts when the lease is taken away', async () => {
    const lease = await a.lock('victim', { ttl: 2, wait: 0 });
    assert.equal(lease.lost, false);
    const res = await api.releaseLock({ client: a.raw, path: { name: 'victim' }, body: { lease_id: lease.leaseId } });
    assert.equal(res.response.status, 200);
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('lease not lost within 10 s')), 10_000);
      lease.signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
    });
    assert.ok(lease.signal.reason instanceof LeaseNotCurrentError);
  });

  test('withLock returns the block value and releases; a user error surfaces unchanged', async () => {
    assert.equal(await a.withLock('scoped', { ttl: 5 }, async (lease) => lease.fencingToken > 0), true);
    assert.equal((await b.status('scoped')).status, 'free');
    const boom = new Error('boom');
    await assert.rejects(
      a.withLock('scoped', { ttl: 5 }, async (lease) => {
        await api.releaseLock({ client: a.raw, path: { name: 'scoped' }, body: { lease_id: lease.leaseId } });
        throw boom;
      }),
      (e: unknown) => e === boom && (e as { suppressed?: unknown }).suppressed instanceof LeaseNotCurrentError,
    );
  });

  test('withLock: a loss while the block ran is a LockLostError', async () => {
    await assert.rejects(
      a.withLock('scoped-loss', { ttl: 2 }, async (lease) => {
        await api.releaseLock({ client: a.raw, path: { name: 'scoped-loss' }, body: { lease_id: lease.leaseId } });
        await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
      }),
      LockLostError,
    );
  });

  test('two clients sharing a token exclude each other', async () => {
    const acc = await server.createAccount('shared');
    const one = new OctoStore({ baseUrl: server.url, token: acc.token });
    const two = new OctoStore({ baseUrl: server.url, token: acc.token });
    const lease = await one.tryLock('shared', { ttl: 5 });
    assert.ok(lease);
    const held = await two.tryAcquire('shared', { ttl: 5 });
    assert.ok(held instanceof LockHeldError);
    assert.equal(held.holderId, `${acc.token_id}/${one.owner}`);
    await lease.release();
  });

  test('election: campaign, leader, observe, resign', async () => {
    const ea = a.election('leader');
    const eb = b.election('leader');
    const first = await ea.campaign('a:1', { wait: 5 });
    assert.deepEqual((await eb.leader())?.value, 'a:1');
    const seen: (string | undefined | null)[] = [];
    let firstSeen: () => void = () => {};
    const observed = new Promise<void>((resolve) => (firstSeen = resolve));
    const observer = (async () => {
      for await (const leader of eb.observe({ timeoutMs: 20_000, pollWait: 5 })) {
        seen.push(leader === null ? null : leader.value);
        firstSeen();
        if (seen.at(-1) === 'b:1') return;
      }
    })();
    await observed; // the observer has seen the first leader before it changes
    const campaign = eb.campaign('b:1', { wait: 20 });
    await ea.resign();
    const second = await campaign;
    await observer;
    assert.ok(second.fencingToken > first.fencingToken);
    assert.equal(seen[0], 'a:1');
    assert.equal(seen.at(-1), 'b:1');
    await eb.resign();
    assert.equal(await eb.leader(), null);
  });
});
