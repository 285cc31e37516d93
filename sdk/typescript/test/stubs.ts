// Canned server answers and a client over a stubbed fetch, for the helpers' unit tests.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';

import { OctoStore, type OctoStoreOptions } from '../src/index.js';

export const LEASE = '6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70';
export const SESSION = 'ses_0123456789abcdef0123456789abcdef';
export const EXPIRES = '2026-02-12T01:00:00Z';

export function json(status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type, ...headers } });
}
export const problem = (code: string, status: number, headers: Record<string, string> = {}) =>
  json(status, { type: `urn:octostore:problem:${code}`, title: code, status, code, request_id: 'r-1' }, 'application/problem+json', headers);
export const acquired = (token = 7, renewAfterMs = 10_000) =>
  json(200, { status: 'acquired', lease_id: LEASE, fencing_token: token, expires_at: EXPIRES, renew_after_ms: renewAfterMs });
export const held = (retryAfterMs = 50) => json(200, { status: 'held', holder_id: 'tok_aaaaaaaaaaaa', expires_at: EXPIRES, retry_after_ms: retryAfterMs });
export const session = (renewAfterMs = 5_000, ttl = 15, status = 201) =>
  json(status, { session_id: SESSION, ttl_seconds: ttl, expires_at: EXPIRES, renew_after_ms: renewAfterMs });

/** A client whose every request goes to `handler`. */
export function stubbed(handler: (req: Request) => Response | Promise<Response>, options: Partial<OctoStoreOptions> = {}): OctoStore {
  const fetchStub = (async (input: RequestInfo | URL, init?: RequestInit) => handler(new Request(input, init))) as typeof fetch;
  return new OctoStore({ baseUrl: 'http://octostore.invalid', token: 'tok', fetch: fetchStub, ...options });
}

/** A request that never gets an answer: it ends only when its signal aborts. */
export function hang(req: Request): Promise<Response> {
  return new Promise<Response>((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true }));
}

/** Resolves when `signal` aborts; rejects after `ms`. */
export function aborted(signal: AbortSignal, ms: number, what = 'signal'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(() => reject(new Error(`${what} not aborted within ${ms} ms`)), ms);
    signal.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
  });
}

/** Polls `cond` every 10 ms until it holds; rejects after `ms`. */
export async function until(cond: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() >= deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A loopback HTTP server answering with `handler` (which may leave a request unanswered). */
export async function loopback(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: HttpServer; stop(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const stop = async () => {
    server.closeAllConnections();
    if (server.listening) await new Promise((r) => server.close(r));
  };
  return { url, server, stop };
}
