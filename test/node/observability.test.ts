// What an operator watches: GET /readyz (single node, a service reporting a cluster, and a real
// three-node cluster before and after its channel has a leader), the request log lines, and the
// node-wide metrics (build info, the default process series only when asked, member names as
// peer labels).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NodeLogger } from '../../src/node/logger.js';
import type { NodeReadiness, NodeService } from '../../src/node/service.js';
import { packageVersion } from '../../src/node/version.js';
import { startCluster } from './cluster-helpers.js';
import { FakeService } from './fake-service.js';
import {
  api,
  memorySpec,
  startTestNode,
  type TestNode,
  TestSse,
  utf8Body,
  withTimeout,
} from './helpers.js';

const TOKEN = 'observability-token-0123456789';

interface LogLine {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  // biome-ignore lint/suspicious/noExplicitAny: log fields are inspected one by one
  readonly fields: any;
}

/** A logger that keeps every line and can wait for one. */
class RecordingLogger implements NodeLogger {
  readonly lines: LogLine[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly error = this.#at('error');
  readonly warn = this.#at('warn');
  readonly info = this.#at('info');
  readonly debug = this.#at('debug');

  #at(level: LogLine['level']) {
    return (fields: object, message = '') => {
      this.lines.push({ level, message, fields });
      for (const wake of this.#waiters.splice(0)) wake();
    };
  }

  /** Resolves with the first line that matches, waiting for it to be written. */
  async waitFor(predicate: (line: LogLine) => boolean, what: string): Promise<LogLine> {
    return withTimeout(
      new Promise<LogLine>((resolve) => {
        const check = () => {
          const found = this.lines.find(predicate);
          if (found !== undefined) resolve(found);
          else this.#waiters.push(check);
        };
        check();
      }),
      what,
    );
  }
}

/** Resolves once `service.readiness()` says ready, checked at every change the service reports. */
function untilReady(service: NodeService): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      let stop: (() => void) | null = null;
      const check = () => {
        if (!service.readiness().ready) return;
        stop?.();
        resolve();
      };
      stop = service.watch(check);
      check();
    }),
    'the node to become ready',
  );
}

describe('GET /readyz on a single node', () => {
  test('200 while the log is open, 503 naming storage once shutdown began', async () => {
    const node = await startTestNode({ token: TOKEN, channels: [memorySpec('orders/audit')] });
    try {
      const ready = await api(node.url, 'GET', '/readyz');
      assert.equal(ready.status, 200, 'public: no token needed');
      assert.deepEqual(ready.json, {
        status: 'ready',
        failing: [],
        storageOpen: true,
        mesh: null,
        replicatedChannels: 0,
        channelsWithoutLeaderCount: 0,
      });
      const health = await api(node.url, 'GET', '/healthz');
      assert.equal(health.status, 200);

      await node.service.shutdown();
      const closed = await api(node.url, 'GET', '/readyz', { token: TOKEN });
      assert.equal(closed.status, 503);
      assert.equal(closed.json.status, 'not-ready');
      assert.deepEqual(closed.json.failing, ['storage']);
      assert.equal(closed.json.storageOpen, false);
    } finally {
      await node.close();
    }
  });

  test('unknown query parameters are a 400, as on every route', async () => {
    const node = await startTestNode();
    try {
      assert.equal((await api(node.url, 'GET', '/readyz?verbose=1')).status, 400);
    } finally {
      await node.close();
    }
  });
});

describe('GET /readyz of a service reporting a cluster', () => {
  const notReady: NodeReadiness = {
    ready: false,
    failing: ['leaders'],
    storageOpen: true,
    mesh: { up: true, connectedPeers: 2, peers: 2 },
    replicatedChannels: 3,
    channelsWithoutLeader: ['orders/audit', 'orders/payments'],
    channelsWithoutLeaderCount: 2,
  };
  let node: TestNode;
  before(async () => {
    const service = new FakeService({ readiness: () => notReady });
    node = await startTestNode({ service, token: TOKEN });
  });
  after(() => node.close());

  test('503 lists the channels without a leader to a caller with the token', async () => {
    const answer = await api(node.url, 'GET', '/readyz', { token: TOKEN });
    assert.equal(answer.status, 503);
    assert.deepEqual(answer.json, {
      status: 'not-ready',
      failing: ['leaders'],
      storageOpen: true,
      mesh: { up: true, connectedPeers: 2, peers: 2 },
      replicatedChannels: 3,
      channelsWithoutLeaderCount: 2,
      channelsWithoutLeader: ['orders/audit', 'orders/payments'],
    });
  });

  test('an anonymous caller gets the counts but no channel names', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }] as Record<
      string,
      string
    >[]) {
      const answer = await api(node.url, 'GET', '/readyz', { headers });
      assert.equal(answer.status, 503);
      assert.equal(answer.json.channelsWithoutLeaderCount, 2);
      assert.equal('channelsWithoutLeader' in answer.json, false);
      assert.doesNotMatch(answer.text, /orders/);
    }
  });
});

describe('GET /readyz and metrics on a real three-node cluster', () => {
  test('503 while the channel has no leader, 200 once one is elected; peers labelled by name', async () => {
    const cluster = await startCluster();
    try {
      // Alone, node-a can open the channel but cannot elect a leader (no majority).
      await cluster.stop(1);
      await cluster.stop(2);
      const created = await api(cluster.urls[0]!, 'POST', '/channels', {
        json: { name: 'orders/audit', replication: { factor: 3, heartbeatMs: 100 } },
      });
      assert.equal(created.status, 201, created.text);
      const alone = await api(cluster.urls[0]!, 'GET', '/readyz');
      assert.equal(alone.status, 503, alone.text);
      assert.deepEqual(alone.json.failing, ['mesh', 'leaders']);
      assert.deepEqual(alone.json.mesh, { up: false, connectedPeers: 0, peers: 2 });
      assert.equal(alone.json.replicatedChannels, 1);
      assert.deepEqual(alone.json.channelsWithoutLeader, ['orders/audit']);

      await cluster.start(1);
      // A new channel with fsync 'never' bootstraps its first epoch only once every member of its
      // replica set reports in (docs/DESIGN.md, who may vote), so both come back.
      await cluster.start(2);
      await untilReady(cluster.nodes[0]!.service);
      const ready = await api(cluster.urls[0]!, 'GET', '/readyz');
      assert.equal(ready.status, 200, ready.text);
      assert.equal(ready.json.status, 'ready');
      assert.deepEqual(ready.json.channelsWithoutLeader, []);
      assert.equal(ready.json.mesh.up, true);

      const metrics = (await api(cluster.urls[0]!, 'GET', '/metrics')).text;
      assert.match(metrics, /^redex_mesh_peer_frames_total\{peer="node-b",direction="in"\} \d+$/m);
      assert.doesNotMatch(
        metrics,
        /(peer|replica)="[0-9a-f]{16}"/,
        'no NodeId where a name is known',
      );
      assert.doesNotMatch(metrics, /^process_cpu/m, 'no process series unless asked');
    } finally {
      await cluster.close();
    }
  });
});

describe('request log', () => {
  const logger = new RecordingLogger();
  let node: TestNode;
  before(async () => {
    node = await startTestNode({
      token: TOKEN,
      channels: [memorySpec('orders/audit')],
      http: { logger },
    });
  });
  after(() => node.close());

  const requests = () => logger.lines.filter((line) => line.message === 'request');

  test('one info line per request: method, route template, channel apart, status, duration', async () => {
    const before = requests().length;
    const appended = await api(node.url, 'POST', '/channels/orders%2Faudit/events', {
      json: utf8Body('x'),
      token: TOKEN,
    });
    assert.equal(appended.status, 201);
    const line = await logger.waitFor(
      (l) => l.message === 'request' && l.fields.method === 'POST',
      'the append request line',
    );
    assert.equal(line.level, 'info');
    assert.equal(line.fields.route, '/channels/{channel}/events');
    assert.equal(line.fields.channel, 'orders/audit');
    assert.equal(line.fields.status, 201);
    assert.equal(typeof line.fields.durationMs, 'number');
    assert.ok(line.fields.durationMs >= 0);
    assert.equal(requests().length, before + 1, 'exactly one line');
  });

  test('no route: the path without its query; probes that answer 2xx log at debug', async () => {
    await api(node.url, 'GET', '/nowhere?access_token=secret', { token: TOKEN });
    const missing = await logger.waitFor(
      (l) => l.message === 'request' && l.fields.status === 404,
      'the 404 line',
    );
    assert.equal(missing.level, 'info');
    assert.equal(missing.fields.route, null);
    assert.equal(missing.fields.path, '/nowhere');
    assert.doesNotMatch(JSON.stringify(logger.lines), /secret/);

    await api(node.url, 'GET', '/healthz');
    const probe = await logger.waitFor(
      (l) => l.message === 'request' && l.fields.route === '/healthz',
      'the health probe line',
    );
    assert.equal(probe.level, 'debug');
    assert.equal(probe.fields.status, 200);
  });

  test('a tail logs when it opens and when it closes', async () => {
    const sse = await TestSse.open(`${node.url}/channels/orders%2Faudit/tail?from=0`, {
      authorization: `Bearer ${TOKEN}`,
    });
    assert.equal(sse.status, 200);
    const opened = await logger.waitFor((l) => l.message === 'stream open', 'stream open');
    assert.equal(opened.level, 'info');
    assert.deepEqual(opened.fields, {
      method: 'GET',
      route: '/channels/{channel}/tail',
      channel: 'orders/audit',
      stream: 'tail',
    });
    sse.close();
    const closed = await logger.waitFor((l) => l.message === 'stream closed', 'stream closed');
    assert.equal(closed.level, 'info');
    assert.equal(closed.fields.route, '/channels/{channel}/tail');
    assert.equal(closed.fields.status, 200);
    assert.ok(closed.fields.durationMs >= 0);
  });
});

describe('node metrics', () => {
  test('redex_build_info is 1 with the package and Node.js versions', async () => {
    const node = await startTestNode();
    try {
      const text = (await api(node.url, 'GET', '/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith('redex_build_info{'));
      assert.ok(line !== undefined, 'redex_build_info is exposed');
      assert.match(line, new RegExp(`version="${packageVersion().replaceAll('.', '\\.')}"`));
      assert.match(line, new RegExp(`node="${process.version.replaceAll('.', '\\.')}"`));
      assert.match(line, / 1$/);
      assert.doesNotMatch(text, /^nodejs_heap_size_total_bytes /m);
    } finally {
      await node.close();
    }
  });

  test('processMetrics adds the default process_* and nodejs_* series', async () => {
    const node = await startTestNode({ http: { processMetrics: true } });
    try {
      const text = (await api(node.url, 'GET', '/metrics')).text;
      assert.match(text, /^process_cpu_user_seconds_total \d/m);
      assert.match(text, /^nodejs_heap_size_total_bytes \d/m);
      assert.match(text, /^redex_build_info\{/m);
    } finally {
      await node.close();
    }
  });
});
