// Starts a live octostore-lock as sdk/conformance/README.md prescribes and creates
// accounts and tokens through the admin API (with the generated client).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { api } from '../src/index.js';
import { createClient, createConfig } from '../src/gen/client/index.js';

const LISTENING = /msg=listening addr=(\S+)/;

export class Server {
  readonly dir: string;
  readonly adminKey = randomBytes(16).toString('hex');
  url = '';
  #proc: ChildProcess | undefined;
  #fds: number[] = [];

  constructor(readonly env: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'octostore-conformance-'));
  }

  async start(): Promise<void> {
    const bin = process.env.OCTOSTORE_BIN ?? '';
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      throw new Error('set OCTOSTORE_BIN to an octostore-lock binary (make build: bin/octostore-lock)');
    }
    writeFileSync(join(this.dir, 'empty.env'), '');
    const out = openSync(join(this.dir, 'stdout.log'), 'w');
    const err = openSync(join(this.dir, 'stderr.log'), 'w');
    this.#fds = [out, err];
    this.#proc = spawn(bin, ['--bind-addr', '127.0.0.1:0'], {
      cwd: this.dir,
      stdio: ['ignore', out, err],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ADMIN_KEY: this.adminKey,
        DATABASE_URL: join(this.dir, 'octostore.db'),
        ENV_FILE: join(this.dir, 'empty.env'),
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'text',
        ...this.env,
      },
    });
    let exited = false;
    this.#proc.once('exit', () => (exited = true));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !exited) {
      const m = LISTENING.exec(readFileSync(join(this.dir, 'stdout.log'), 'utf8'));
      if (m) {
        this.url = `http://${m[1]}`;
        return;
      }
      await delay(20);
    }
    const logs = this.logs();
    await this.stop();
    throw new Error(`octostore-lock did not start:\n${logs}`);
  }

  logs(): string {
    const read = (f: string) => {
      try {
        return readFileSync(join(this.dir, f), 'utf8');
      } catch {
        return '';
      }
    };
    return `--- stdout\n${read('stdout.log')}--- stderr\n${read('stderr.log')}`;
  }

  #admin() {
    return createClient(createConfig({ baseUrl: this.url, auth: this.adminKey }));
  }

  /** A fresh account `<label>-<12 random hex>` and its first token. */
  async createAccount(label: string): Promise<api.CreatedAccount> {
    const name = `${label}-${randomBytes(6).toString('hex')}`;
    const res = await api.createAccount({ client: this.#admin(), body: { name } });
    if (!res.data) throw new Error(`create account: ${res.response?.status} ${JSON.stringify(res.error)}`);
    return res.data;
  }

  /** Another token (another holder) in the account. */
  async createToken(accountId: string): Promise<api.IssuedToken> {
    const res = await api.createToken({ client: this.#admin(), path: { account_id: accountId } });
    if (!res.data) throw new Error(`create token: ${res.response?.status} ${JSON.stringify(res.error)}`);
    return res.data;
  }

  /** SIGSTOP: the server stops answering (connections still open). */
  pause(): void {
    this.#proc?.kill('SIGSTOP');
  }

  /** SIGCONT after {@link Server.pause}. */
  resume(): void {
    this.#proc?.kill('SIGCONT');
  }

  /** SIGCONT (in case it was paused), SIGTERM, SIGKILL after 10 s; removes the temp dir. */
  async stop(): Promise<void> {
    const p = this.#proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGCONT');
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    for (const fd of this.#fds) closeSync(fd);
    this.#fds = [];
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One server per distinct set of scenario settings, started on first use. */
export class Servers {
  #byEnv = new Map<string, Promise<Server>>();

  get(env: Record<string, string> = {}): Promise<Server> {
    const key = JSON.stringify(Object.entries(env).sort());
    let s = this.#byEnv.get(key);
    if (!s) {
      const server = new Server(env);
      s = server.start().then(() => server);
      this.#byEnv.set(key, s);
    }
    return s;
  }

  async stopAll(): Promise<void> {
    for (const s of this.#byEnv.values()) await (await s.catch(() => undefined))?.stop();
    this.#byEnv.clear();
  }
}
