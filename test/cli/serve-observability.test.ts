// What `redex serve` (a real child process) gives an operator to watch: the process and runtime
// series next to the node's own, /readyz, and one JSON log line per request on stderr.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { api, tempDir, withTimeout } from '../node/helpers.js';
import { RedexProcess } from './helpers.js';

const SERVING = /redex: node (\S+) serving (http:\/\/127\.0\.0\.1:\d+) \(data in (.+)\)\n/;

test('redex serve: process metrics, build info, /readyz and request log lines', async () => {
  const dir = await tempDir('serve-observability');
  let node: RedexProcess | null = null;
  try {
    const config = join(dir.path, 'node.json');
    await writeFile(
      config,
      JSON.stringify({
        node: 'solo',
        dataDir: 'data',
        http: { listen: '127.0.0.1:0' },
        channels: [{ name: 'orders/audit' }],
        logLevel: 'info',
      }),
    );
    node = new RedexProcess(['serve', '--config', config]);
    const [, , url] = await node.waitForStdout(SERVING, 'the node serving');

    const metrics = (await api(url!, 'GET', '/metrics')).text;
    assert.match(metrics, /^process_cpu_user_seconds_total \d/m);
    assert.match(metrics, /^nodejs_eventloop_lag_seconds \d/m);
    assert.match(metrics, /^redex_build_info\{version="[^"]+",node="v\d+\.\d+\.\d+"[^}]*\} 1$/m);
    const ready = await api(url!, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.json.status, 'ready');
    const read = await api(url!, 'GET', '/channels/orders%2Faudit/events');
    assert.equal(read.status, 200);

    node.child.kill('SIGTERM');
    const exit = await withTimeout(node.exited, 'serve exits after SIGTERM', 30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, node.stderr);
    const requests = node.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .filter((line) => line.msg === 'request');
    assert.equal(requests.length, 1, 'probes and scrapes that succeed are debug lines');
    assert.equal(requests[0].level, 30);
    assert.equal(requests[0].node, 'solo');
    assert.equal(requests[0].method, 'GET');
    assert.equal(requests[0].route, '/channels/{channel}/events');
    assert.equal(requests[0].channel, 'orders/audit');
    assert.equal(requests[0].status, 200);
    assert.equal(typeof requests[0].durationMs, 'number');
  } finally {
    node?.kill();
    await dir.remove();
  }
});
