// Holds a lock and leads an election with releaseOnSignals() on, prints "ready", then
// idles until a signal ends it; the test checks both were given back.
import { OctoStore } from '../src/index.js';

const client = new OctoStore({ baseUrl: process.env.OCTOSTORE_URL!, token: process.env.OCTOSTORE_TOKEN! });
client.releaseOnSignals();
await client.lock('held-at-exit', { ttl: 60, wait: 5 });
await client.election('led-at-exit', { ttl: 60 }).campaign('me', { wait: 5 });
process.stdout.write('ready\n');
setInterval(() => undefined, 1000); // keep running until the signal
