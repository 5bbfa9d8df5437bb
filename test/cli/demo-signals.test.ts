// `redex demo` keeps a CA key in its temporary directory, so the directory must go however the
// demo is stopped: also when a second Ctrl-C arrives while the first one's graceful stop runs
// (the CLI then exits at once, and only the process 'exit' hook is left to clean up).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { withTimeout } from '../node/helpers.js';
import { RedexProcess } from './helpers.js';

/** Three tsx children and a leader election on a busy host. */
const DEMO_UP_TIMEOUT_MS = 120_000;

describe('redex demo and signals', { timeout: DEMO_UP_TIMEOUT_MS * 2 }, () => {
  const processes: RedexProcess[] = [];
  after(() => {
    for (const demo of processes) demo.kill();
  });

  it('removes its directory when a second SIGINT cuts the graceful stop short', async () => {
    const demo = new RedexProcess(['demo', '--rate', '20']);
    processes.push(demo);
    const [, dir] = await demo.waitForStdout(/data in (\S+)\n/, 'the demo directory');
    assert.ok(existsSync(`${dir}/certs/ca.key`), 'the CA key is in the demo directory');
    await demo.waitForStdout(/dashboard: /, 'the demo running', DEMO_UP_TIMEOUT_MS);
    demo.child.kill('SIGINT');
    // The second signal is sent once the first was handled (two pending SIGINTs merge into one).
    await demo.waitForStdout(/SIGINT: stopping/, 'the graceful stop starting');
    demo.child.kill('SIGINT');
    const exit = await withTimeout(demo.exited, 'the demo exiting', 30_000);
    assert.equal(exit.code, 130, `exit code; stderr: ${demo.stderr}`);
    assert.equal(existsSync(dir!), false, `${dir} was removed`);
  });
});
