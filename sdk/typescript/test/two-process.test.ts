// Two processes of the same worker share ONE token and set no owner: each client sends
// its own default owner, so they exclude each other and no increment of the shared
// counter file is lost (the counter ends at exactly 2N), for locks and for elections.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { OctoStore } from '../src/index.js';
import { Server } from './harness.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'counter-worker.js');
const SIGNAL_WORKER = join(dirname(fileURLToPath(import.meta.url)), 'signal-worker.js');
const CYCLES = 30;
const DEADLINE_MS = 20_000;

/** Runs the worker; resolves with its exit code, killing it (by PID) at the deadline. */
function runWorker(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [WORKER], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('two processes sharing one token', () => {
  const server = new Server();
  let token = '';
  let dir = '';
  before(async () => {
    await server.start();
    token = (await server.createAccount('two-process')).token;
    dir = mkdtempSync(join(tmpdir(), 'octostore-two-process-'));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['lock', 'election']) {
    test(`${mode}: ${CYCLES} increments each, none lost`, async () => {
      const file = join(dir, `${mode}.counter`);
      writeFileSync(file, '0');
      const env: Record<string, string> = { OCTOSTORE_URL: server.url, OCTOSTORE_TOKEN: token, COUNTER_FILE: file, CYCLES: String(CYCLES), MODE: mode };
      // TWO_PROCESS_SHARED_OWNER=x makes both workers one holder (the old behaviour of
      // a shared token without owners), to see this test fail.
      if (process.env.TWO_PROCESS_SHARED_OWNER) env.OCTOSTORE_OWNER = process.env.TWO_PROCESS_SHARED_OWNER;
      const results = await Promise.all([runWorker(env), runWorker(env)]);
      const failed = results.filter((r) => r.code !== 0).map((r) => r.stderr.trim().split('\n').find((l) => /Error/.test(l)));
      assert.equal(Number(readFileSync(file, 'utf8')), 2 * CYCLES, `counter; worker errors: ${JSON.stringify(failed)}`);
      for (const r of results) assert.equal(r.code, 0, `worker failed: ${r.stderr}`);
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`releaseOnSignals: ${signal} releases the lock and resigns the election`, async () => {
      const child = spawn(process.execPath, [SIGNAL_WORKER], {
        env: { PATH: process.env.PATH ?? '', OCTOSTORE_URL: server.url, OCTOSTORE_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, sig) => resolve(sig ?? code)));
      const killer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (d) => {
            out += d;
            if (out.includes('ready')) resolve();
          });
          void exited.then(() => reject(new Error(`worker exited before ready: ${err}`)));
        });
        const observer = new OctoStore({ baseUrl: server.url, token });
        assert.equal((await observer.status('held-at-exit')).status, 'held');
        assert.equal((await observer.status('led-at-exit')).status, 'held');
        child.kill(signal);
        assert.equal(await exited, signal, 'the signal still ends the process');
        assert.equal((await observer.status('held-at-exit')).status, 'free');
        assert.equal((await observer.status('led-at-exit')).status, 'free');
      } finally {
        clearTimeout(killer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  }
});
