// A worker of the two-process test: N cycles of (lock | campaign) → read the shared
// counter file → short sleep → write counter+1 → (unlock | resign). No owner is set
// (unless OCTOSTORE_OWNER is given, to show what a shared holder does).
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

import { OctoStore } from '../src/index.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};

const client = new OctoStore({
  baseUrl: env('OCTOSTORE_URL'),
  token: env('OCTOSTORE_TOKEN'),
  ...(process.env.OCTOSTORE_OWNER ? { owner: process.env.OCTOSTORE_OWNER } : {}),
});
const file = env('COUNTER_FILE');
const cycles = Number(env('CYCLES'));
const mode = env('MODE');

async function increment(): Promise<void> {
  const n = Number(readFileSync(file, 'utf8'));
  await delay(3); // widens the race window: without exclusion, updates get lost
  writeFileSync(file, String(n + 1));
}

for (let i = 0; i < cycles; i++) {
  if (mode === 'lock') {
    const lease = await client.lock('counter', { ttl: 10, wait: 30 });
    try {
      await increment();
    } finally {
      await lease.release();
    }
  } else {
    const election = client.election('counter-leader', { ttl: 10 });
    await election.campaign(`worker-${process.pid}`, { wait: 30 });
    try {
      await increment();
    } finally {
      await election.resign();
    }
  }
}
