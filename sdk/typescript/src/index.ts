/**
 * OctoStore: leader election and distributed locking as a service.
 *
 * ```ts
 * import { OctoStore } from '@octostore/client';
 * const client = new OctoStore({ baseUrl: 'http://127.0.0.1:3000', token });
 * await using lease = await client.lock('nightly-report', { ttl: 30 });
 * await storage.write(report, { fencingToken: lease.fencingToken, signal: lease.signal });
 * ```
 *
 * The client generated from the OpenAPI document is exported as `api`.
 * @module
 */
import './dispose.js';

export { DEFAULT_TIMEOUT_MS, DEFAULT_TTL, Election, Lease, OctoStore, Semaphore, Session, defaultOwner } from './client.js';
export type {
  Leader,
  LockHolderState,
  LockOptions,
  LockState,
  OctoStoreOptions,
  PrefixChanges,
  SessionLockOptions,
  SessionOptions,
  SessionTryLockOptions,
  TryLockOptions,
  WaitOptions,
  WatchPrefixOptions,
} from './client.js';
export * from './errors.js';
export * as api from './gen/index.js';
export { VERSION } from './version.js';
