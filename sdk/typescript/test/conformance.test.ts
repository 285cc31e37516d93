// Every scenario of the shared conformance suite (sdk/conformance) is one test case, run
// through the TypeScript helpers against a live octostore-lock started by the harness.
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, describe, test } from 'node:test';

import { Runner, loadScenario, scenarioFiles } from './conformance.js';
import { Servers } from './harness.js';

const servers = new Servers();
after(() => servers.stopAll());

// Scenarios are independent (each has its own accounts), so they run side by side.
describe('conformance', { concurrency: 4 }, () => {
  test('there are scenarios', () => {
    assert.ok(scenarioFiles().length >= 20);
  });

  for (const file of scenarioFiles()) {
    const name = basename(file, '.json');
    test(name, async () => {
      const scenario = loadScenario(file);
      assert.equal(scenario.name, name);
      const runner = new Runner(scenario);
      try {
        await runner.run(servers);
      } finally {
        await runner.close();
      }
    });
  }
});
