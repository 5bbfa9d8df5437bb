// GET /openapi.json against the real thing: the document lists exactly the routes the server
// routes, and every answer a real node gives (successes and the usual errors) is an answer the
// document declares for that route and status, with a body its schema accepts. A change to a
// handler's answer that the schemas do not follow fails here.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Value } from 'typebox/value';
import { ChannelRegistry } from '../../src/node/channel-registry.js';
import { BATCH_MEDIA_TYPE, encodeBatchBody } from '../../src/node/http/batch-body.js';
import { CREATE_BODY_BYTES_MAX } from '../../src/node/http/limits.js';
import { CHANNEL_PARAM } from '../../src/node/http/router.js';
import { ROUTES } from '../../src/node/http/server.js';
import {
  type Answer,
  api,
  startTestNode,
  type TestNode,
  utf8Body,
  withTimeout,
} from './helpers.js';

const TOKEN = 'openapi-test-token-0123456789';

interface MediaDoc {
  readonly schema: Record<string, unknown>;
}
interface OperationDoc {
  readonly operationId: string;
  readonly parameters: { name: string; in: string }[];
  readonly responses: Record<string, { content?: Record<string, MediaDoc> }>;
}
type PathsDoc = Record<string, Record<string, OperationDoc>>;

/** `/channels/a%2Fb/events?x=1` → `/channels/{name}/events`. */
function template(path: string): string {
  const segments = path.split('?')[0]!.split('/');
  if (segments[1] === 'channels' && segments.length >= 3) segments[2] = '{name}';
  return segments.join('/');
}

describe('GET /openapi.json', () => {
  let dir: string;
  let node: TestNode;
  let paths: PathsDoc;
  /** `METHOD template` of every operation some call answered with a 2xx. */
  const succeeded = new Set<string>();
  /** Their success needs a cluster: test/node/cluster-service.test.ts checks those answers. */
  const SUCCEEDS_ON_A_CLUSTER = ['POST /channels/{name}/leadership'];

  /** Calls the node and checks the answer against the document. */
  async function call(
    method: string,
    path: string,
    init: Parameters<typeof api>[3] & { status: number } = { status: 200 },
  ): Promise<Answer> {
    const { status, ...rest } = init;
    const answer = await api(node.url, method, path, { token: TOKEN, ...rest });
    assert.equal(answer.status, status, `${method} ${path}: ${answer.text.slice(0, 300)}`);
    checkAgainstDocument(method, path, answer);
    return answer;
  }

  function checkAgainstDocument(method: string, path: string, answer: Answer): void {
    const where = `${method} ${path} → ${answer.status}`;
    const operation = paths[template(path)]?.[method.toLowerCase()];
    assert.ok(operation, `${where}: the document has no such operation`);
    const response = operation.responses[String(answer.status)];
    assert.ok(response, `${where}: the document declares no ${answer.status} for it`);
    if (answer.status >= 200 && answer.status < 300) {
      succeeded.add(`${method} ${template(path)}`);
    }
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (response.content === undefined) {
      assert.equal(answer.text, '', `${where}: the document declares no body`);
      return;
    }
    const media = response.content[type];
    assert.ok(media, `${where}: content-type ${type} is not declared`);
    if (type !== 'application/json' || media.schema.type === 'string') return;
    const ok = Value.Check(media.schema, answer.json);
    assert.ok(
      ok,
      `${where}: the body does not match the schema: ${JSON.stringify(
        [...Value.Errors(media.schema, answer.json)].slice(0, 3),
      )}\n${answer.text.slice(0, 500)}`,
    );
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redex-openapi-'));
    const registry = await ChannelRegistry.open(dir, {
      defaultPersistent: true,
      members: new Set(),
    });
    node = await startTestNode({ dir, token: TOKEN, serviceOptions: { registry } });
    await node.local!.createChannel(
      { name: 'configured', file: { persistent: false }, replication: null },
      { origin: 'config' },
    );
    const doc = await api(node.url, 'GET', '/openapi.json', { token: TOKEN });
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.1.0');
    paths = doc.json.paths;
  });
  after(async () => {
    await node.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the document and the route table list the same operations', () => {
    const routed = ROUTES.flatMap((route) =>
      Object.keys(route.methods).map(
        (method) =>
          `${method.toLowerCase()} /${route.path.map((s) => (s === CHANNEL_PARAM ? '{name}' : s)).join('/')}`,
      ),
    ).sort();
    const documented = Object.entries(paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    assert.deepEqual(documented, routed);
    const ids: string[] = [];
    for (const [path, operations] of Object.entries(paths)) {
      for (const operation of Object.values(operations)) {
        assert.equal(
          operation.parameters.some((parameter) => parameter.in === 'path'),
          path.includes('{name}'),
          path,
        );
        assert.ok(operation.responses['401'], `${path}: 401 is declared`);
        ids.push(operation.operationId);
      }
    }
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  test('every answer of every route matches its documented schema', async () => {
    // Node-level routes.
    await call('GET', '/', { status: 200 });
    await call('GET', '/healthz', { status: 200 });
    await call('GET', '/readyz', { status: 200 });
    await call('GET', '/openapi.json', { status: 200 });
    await call('GET', '/status', { status: 200 });
    await call('GET', '/status?verbose=1', { status: 400 });
    await call('GET', '/metrics', { status: 200 });
    checkAgainstDocument('GET', '/status', await api(node.url, 'GET', '/status'));

    // Channels.
    const spec = { name: 'orders/audit', file: { fsync: 'always' } };
    await call('POST', '/channels', { json: spec, status: 201 });
    await call('POST', '/channels', { json: spec, status: 200 });
    await call('POST', '/channels', {
      json: { name: 'orders/audit', file: { fsync: 'never' } },
      status: 409,
    });
    await call('POST', '/channels', { json: { name: 'x', file: { fsync: 'soon' } }, status: 400 });
    await call('POST', '/channels', {
      body: '{"name":',
      headers: { 'content-type': 'application/json' },
      status: 400,
    });
    await call('POST', '/channels', {
      body: 'x'.repeat(CREATE_BODY_BYTES_MAX + 1),
      headers: { 'content-type': 'application/json' },
      status: 413,
    });
    await call('POST', '/channels', {
      body: 'x',
      headers: { 'content-type': 'text/plain' },
      status: 415,
    });
    await call('GET', '/channels', { status: 200 });
    await call('GET', '/channels/orders%2Faudit', { status: 200 });
    await call('GET', '/channels/nope', { status: 404 });
    await call('GET', '/channels/Bad', { status: 400 });

    // Appends.
    const events = '/channels/orders%2Faudit/events';
    await call('POST', events, { json: utf8Body('one'), status: 201 });
    await call('POST', events, { json: { events: ['dHdv', 'dGhyZWU='] }, status: 201 });
    await call('POST', events, { json: { events: [] }, status: 200 });
    await call('POST', events, {
      body: encodeBatchBody([Uint8Array.of(0, 1), Uint8Array.of()]),
      headers: { 'content-type': BATCH_MEDIA_TYPE },
      status: 201,
    });
    await call('POST', `${events}?ifNextSeq=5`, {
      body: 'raw',
      headers: { 'content-type': 'application/octet-stream' },
      status: 201,
    });
    await call('POST', `${events}?ifNextSeq=0`, { json: utf8Body('late'), status: 409 });
    await call('POST', events, { json: { payload: 5 }, status: 400 });
    await call('POST', `${events}?acks=1`, { json: utf8Body('x'), status: 501 });
    await call('POST', events, { body: 'x', headers: { 'content-type': 'text/x' }, status: 415 });
    await call('POST', events, {
      json: { payload: 'A'.repeat(2 * 1024 * 1024) },
      status: 413,
    });
    await call('POST', '/channels/nope/events', { json: utf8Body('x'), status: 404 });

    // Reads.
    await call('GET', events, { status: 200 });
    await call('GET', `${events}?encoding=utf8&from=1&limit=2`, { status: 200 });
    await call('GET', `${events}?from=99`, { status: 200 });
    await call('GET', `${events}?limit=0`, { status: 400 });
    await call('GET', '/channels/nope/events', { status: 404 });
    const binary = await call('GET', events, {
      headers: { accept: 'application/octet-stream' },
      status: 200,
    });
    assert.equal(binary.headers.get('content-type'), 'application/octet-stream');

    // Streams: the tail ends by itself with `to`; the status stream is cut after its head.
    const tail = await call('GET', '/channels/orders%2Faudit/tail?to=2', { status: 200 });
    assert.match(tail.text, /event: end/);
    await call('GET', '/channels/nope/tail', { status: 404 });
    await call('GET', '/channels/orders%2Faudit/tail?from=x', { status: 400 });
    const controller = new AbortController();
    const stream = await withTimeout(
      fetch(`${node.url}/events/status`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: controller.signal,
      }),
      'status stream',
    );
    assert.equal(stream.status, 200);
    assert.ok(paths['/events/status']!.get!.responses['200']!.content!['text/event-stream']);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    succeeded.add('GET /events/status');
    controller.abort();
    await stream.body?.cancel().catch(() => {});

    // Leadership: a single node has nobody to hand a channel to (a 200 needs a cluster).
    await call('POST', '/channels/orders%2Faudit/leadership', { status: 501 });
    await call('POST', '/channels/orders%2Faudit/leadership?to=', { status: 501 });
    await call('POST', '/channels/orders%2Faudit/leadership?from=1', { status: 400 });

    // Deletes.
    await call('DELETE', '/channels/configured', { status: 409 });
    await call('DELETE', '/channels/orders%2Faudit', { status: 204 });
    await call('DELETE', '/channels/orders%2Faudit', { status: 404 });

    // Without the token.
    const anonymous = await api(node.url, 'GET', '/channels');
    assert.equal(anonymous.status, 401);
    checkAgainstDocument('GET', '/channels', anonymous);

    // Every documented operation answered at least once with success.
    const operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(
      operations.filter(
        (operation) => !succeeded.has(operation) && !SUCCEEDS_ON_A_CLUSTER.includes(operation),
      ),
      [],
    );
  });

  test('shutting down: /healthz 503 matches its schema too', async () => {
    const other = await startTestNode({ token: TOKEN });
    try {
      const pending = other.service.shutdown();
      const health = await api(other.url, 'GET', '/healthz');
      await pending;
      assert.equal(health.status, 503);
      checkAgainstDocument('GET', '/healthz', health);
    } finally {
      await other.close();
    }
  });
});
