// `redex serve` as a real child process: it starts from a config file, prints where it serves,
// and on SIGTERM or SIGINT stops taking writes, ends open streams, flushes, fsyncs, closes and
// exits 0; the events are all there when it starts again on the same data directory.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PID_FILE } from '../../src/node/pid-lock.js';
import { api, TestSse, tempDir, withTimeout } from '../node/helpers.js';
import { RedexProcess } from './helpers.js';

const SERVING = /redex: node (\S+) serving (http:\/\/127\.0\.0\.1:\d+) \(data in (.+)\)\n/;

async function writeConfig(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const path = join(dir, 'node.json');
  await writeFile(
    path,
    JSON.stringify({
      node: 'solo',
      dataDir: 'data',
      http: { listen: '127.0.0.1:0' },
      channels: [{ name: 'orders/audit' }],
      logLevel: 'warn',
      ...extra,
    }),
  );
  return path;
}

describe('redex serve', () => {
  test('SIGTERM: open streams end, the process exits 0, and a restart has every event', async () => {
    const dir = await tempDir('serve');
    let first: RedexProcess | null = null;
    let second: RedexProcess | null = null;
    try {
      const config = await writeConfig(dir.path);
      first = new RedexProcess(['serve', '--config', config]);
      const [, name, url, dataDir] = await first.waitForStdout(SERVING, 'the node serving');
      assert.equal(name, 'solo');
      assert.equal(dataDir, join(dir.path, 'data'));
      const payloads = Array.from({ length: 300 }, (_, i) => `event ${i}`);
      for (let i = 0; i < payloads.length; i += 100) {
        const answer = await api(url!, 'POST', '/channels/orders%2Faudit/events', {
          json: { events: payloads.slice(i, i + 100), encoding: 'utf8' },
        });
        assert.equal(answer.status, 201);
      }
      const tail = await TestSse.open(`${url}/channels/orders%2Faudit/tail?from=300`);
      await tail.waitForRaw(': tail');
      assert.equal(
        (await readFile(join(dataDir!, PID_FILE), 'utf8')).trim(),
        String(first.child.pid),
      );

      first.child.kill('SIGTERM');
      const end = await tail.next('the end of the tail');
      assert.equal(end!.event, 'end');
      const exit = await withTimeout(first.exited, 'serve exits after SIGTERM', 30_000);
      assert.deepEqual(exit, { code: 0, signal: null }, first.stderr);
      assert.match(
        first.stdout,
        /redex: SIGTERM: stopping \(no more writes; flushing and closing\)\nredex: stopped\n$/,
      );
      await assert.rejects(readFile(join(dataDir!, PID_FILE)), /ENOENT/, 'the pid file is removed');

      second = new RedexProcess(['serve', '--config', config]);
      const [, , url2] = await second.waitForStdout(SERVING, 'the restarted node serving');
      const read = await api(
        url2!,
        'GET',
        '/channels/orders%2Faudit/events?encoding=utf8&limit=1000',
      );
      assert.deepEqual(
        read.json.events.map((event: { payload: string }) => event.payload),
        payloads,
      );
      second.child.kill('SIGINT');
      const exit2 = await withTimeout(second.exited, 'serve exits after SIGINT', 30_000);
      assert.deepEqual(exit2, { code: 0, signal: null }, second.stderr);
      assert.match(second.stdout, /redex: SIGINT: stopping/);
    } finally {
      first?.kill();
      second?.kill();
      await dir.remove();
    }
  });

  test('a bad config exits 1 naming the field, before binding anything', async () => {
    const dir = await tempDir('serve-bad');
    try {
      const config = await writeConfig(dir.path, { http: { listen: '0.0.0.0:0' } });
      const child = new RedexProcess(['serve', '--config', config]);
      const exit = await withTimeout(child.exited, 'serve exits on a bad config', 30_000);
      assert.equal(exit.code, 1);
      assert.match(
        child.stderr,
        /^redex: node config: http\.listen is 0\.0\.0\.0, which is not a loopback address/,
      );
      assert.equal(child.stdout, '');
    } finally {
      await dir.remove();
    }
  });
});
