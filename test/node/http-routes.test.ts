// Every HTTP route: its answer, its errors and its limits. One in-memory node per describe block.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { NotLeaderError } from '../../src/log/errors.js';
import { BATCH_MEDIA_TYPE, encodeBatchBody } from '../../src/node/http/batch-body.js';
import {
  APPEND_JSON_BODY_BYTES_MAX,
  BATCH_EVENTS_MAX,
  CREATE_BODY_BYTES_MAX,
  EVENT_BYTES_MAX,
  RAW_EVENT_BYTES_MAX,
  READ_EVENTS_MAX,
} from '../../src/node/http/limits.js';
import { FakeService } from './fake-service.js';
import { api, memorySpec, startTestNode, type TestNode, utf8Body, withTimeout } from './helpers.js';

const EVENTS = '/channels/orders%2Faudit/events';

function errorOf(
  answer: { status: number; json: { error?: { code: string; message: string } } },
  status: number,
  code: string,
): { code: string; message: string; [key: string]: unknown } {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.json.error?.code, code, JSON.stringify(answer.json));
  assert.match(answer.json.error!.message, /^redex: /);
  return answer.json.error!;
}

/** A POST whose body arrives chunked (no Content-Length), so only the running count can stop it. */
function chunkedPost(
  url: string,
  contentType: string,
  chunk: Buffer,
  chunks: number,
): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const request = http.request(
        url,
        { method: 'POST', headers: { 'content-type': contentType } },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (part: string) => {
            body += part;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      // The server may close the connection while we still write: that is the point.
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      });
      let sent = 0;
      const pump = () => {
        while (sent < chunks) {
          sent++;
          if (!request.write(chunk)) {
            request.once('drain', pump);
            return;
          }
        }
        request.end();
      };
      pump();
    }),
    'chunked POST',
  );
}

describe('node routes', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('orders/audit')] });
  });
  after(() => node.close());

  test('GET / serves the dashboard with a strict CSP', async () => {
    const answer = await api(node.url, 'GET', '/');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type')!, /^text\/html/);
    const csp = answer.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-/);
    assert.match(answer.text, /<script>/);
    assert.doesNotMatch(
      answer.text,
      /<script src=|<link rel="stylesheet"|https?:\/\/(?!www\.w3\.org)/,
    );
  });

  test('GET /healthz', async () => {
    const answer = await api(node.url, 'GET', '/healthz');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { status: 'ok' });
  });

  test('GET /status: node, peers, channels', async () => {
    const answer = await api(node.url, 'GET', '/status');
    assert.equal(answer.status, 200);
    assert.equal(answer.json.node.name, 'node-a');
    assert.equal(answer.json.node.mode, 'single');
    assert.equal(answer.json.node.accepting, true);
    assert.deepEqual(answer.json.peers, []);
    assert.deepEqual(
      answer.json.channels.map((channel: { name: string }) => channel.name),
      ['orders/audit'],
    );
    assert.equal(answer.headers.get('cache-control'), 'no-store');
  });

  test('GET /metrics: node series and HTTP series in Prometheus text', async () => {
    await api(node.url, 'POST', EVENTS, { json: utf8Body('m') });
    const answer = await api(node.url, 'GET', '/metrics');
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    assert.match(answer.text, /^redex_channel_appends_total\{channel="orders\/audit"\} \d+$/m);
    assert.match(
      answer.text,
      /^redex_http_requests_total\{route="events",method="POST",status="201"\} \d+$/m,
    );
    assert.match(answer.text, /^# TYPE redex_http_request_duration_seconds histogram$/m);
  });

  test('unknown routes are 404; a raw slash in a channel name gets a hint', async () => {
    errorOf(await api(node.url, 'GET', '/nope'), 404, 'NOT_FOUND');
    errorOf(await api(node.url, 'GET', '/status/'), 404, 'NOT_FOUND');
    const hint = errorOf(
      await api(node.url, 'GET', '/channels/orders/audit/events'),
      404,
      'NOT_FOUND',
    );
    assert.match(hint.message, /%2F/);
  });

  test('a wrong method is 405 with Allow', async () => {
    const answer = await api(node.url, 'PUT', '/channels');
    errorOf(answer, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(answer.headers.get('allow'), 'GET, POST');
    errorOf(await api(node.url, 'DELETE', EVENTS), 405, 'METHOD_NOT_ALLOWED');
    errorOf(await api(node.url, 'POST', '/status'), 405, 'METHOD_NOT_ALLOWED');
  });

  test('unknown query parameters are 400 naming them', async () => {
    const error = errorOf(await api(node.url, 'GET', `${EVENTS}?form=1`), 400, 'BAD_REQUEST');
    assert.match(error.message, /"form"/);
    errorOf(await api(node.url, 'GET', '/status?x=1'), 400, 'BAD_REQUEST');
  });
});

describe('channel routes', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  test('POST /channels creates (201), repeats (200) and refuses a different spec (409)', async () => {
    const created = await api(node.url, 'POST', '/channels', {
      json: { name: 'a/b', file: { persistent: false } },
    });
    assert.equal(created.status, 201);
    assert.equal(created.json.created, true);
    assert.equal(created.json.channel.name, 'a/b');
    assert.equal(created.json.channel.persistent, false);
    const same = await api(node.url, 'POST', '/channels', {
      json: { name: 'a/b', file: { persistent: false } },
    });
    assert.equal(same.status, 200);
    assert.equal(same.json.created, false);
    errorOf(
      await api(node.url, 'POST', '/channels', {
        json: { name: 'a/b', file: { persistent: false, tailBufferSize: 3 } },
      }),
      409,
      'CHANNEL_EXISTS',
    );
  });

  test('POST /channels on a node without a data directory defaults to in-memory', async () => {
    const answer = await api(node.url, 'POST', '/channels', { json: { name: 'mem' } });
    assert.equal(answer.status, 201);
    assert.equal(answer.json.channel.persistent, false);
    const refused = errorOf(
      await api(node.url, 'POST', '/channels', {
        json: { name: 'disk', file: { persistent: true } },
      }),
      400,
      'CONFIG',
    );
    assert.match(refused.message, /no 'dir'/);
  });

  test('POST /channels: bad specs are 400s naming the field', async () => {
    const name = errorOf(
      await api(node.url, 'POST', '/channels', { json: { name: 'Bad' } }),
      400,
      'CONFIG',
    );
    assert.equal(name.field, 'name');
    assert.match(name.message, /^redex: channel spec: name /);
    const fsync = errorOf(
      await api(node.url, 'POST', '/channels', { json: { name: 'x', file: { fsync: 'soon' } } }),
      400,
      'CONFIG',
    );
    assert.equal(fsync.field, 'file.fsync');
    const factor = errorOf(
      await api(node.url, 'POST', '/channels', {
        json: { name: 'x', replication: { factor: 99 } },
      }),
      400,
      'CONFIG',
    );
    assert.equal(factor.field, 'replication.factor');
    errorOf(await api(node.url, 'POST', '/channels', { json: ['x'] }), 400, 'CONFIG');
    errorOf(
      await api(node.url, 'POST', '/channels', { json: { name: 'x', extra: 1 } }),
      400,
      'CONFIG',
    );
  });

  test('POST /channels: bad JSON 400, wrong type 415, oversized 413', async () => {
    errorOf(
      await api(node.url, 'POST', '/channels', {
        body: '{"name": ',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'BAD_JSON',
    );
    errorOf(
      await api(node.url, 'POST', '/channels', {
        body: Buffer.from([0xff, 0xfe]),
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'BAD_JSON',
    );
    errorOf(
      await api(node.url, 'POST', '/channels', { body: '{"name":"x"}' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    errorOf(
      await api(node.url, 'POST', '/channels', {
        body: '{"name":"x"}',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    const big = JSON.stringify({ name: 'x', pad: 'y'.repeat(CREATE_BODY_BYTES_MAX) });
    const tooBig = errorOf(
      await api(node.url, 'POST', '/channels', {
        body: big,
        headers: { 'content-type': 'application/json' },
      }),
      413,
      'BODY_TOO_LARGE',
    );
    assert.equal(tooBig.limitBytes, CREATE_BODY_BYTES_MAX);
  });

  test('GET /channels lists; GET /channels/{name} describes or 404s; names are checked', async () => {
    await api(node.url, 'POST', '/channels', { json: { name: 'list/me' } });
    const list = await api(node.url, 'GET', '/channels');
    assert.equal(list.status, 200);
    assert.ok(list.json.channels.some((channel: { name: string }) => channel.name === 'list/me'));
    const one = await api(node.url, 'GET', '/channels/list%2Fme');
    assert.equal(one.status, 200);
    assert.equal(one.json.name, 'list/me');
    assert.equal(one.json.nextSeq, 0);
    errorOf(await api(node.url, 'GET', '/channels/unknown'), 404, 'CHANNEL_NOT_FOUND');
    errorOf(await api(node.url, 'GET', '/channels/UPPER'), 400, 'CHANNEL_NAME');
    errorOf(await api(node.url, 'GET', '/channels/a%2F%2Fb'), 400, 'CHANNEL_NAME');
    errorOf(await api(node.url, 'GET', '/channels/%2Fa'), 400, 'CHANNEL_NAME');
    errorOf(await api(node.url, 'GET', '/channels/%E0%A4%A'), 400, 'BAD_REQUEST');
  });
});

describe('append', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('orders/audit')] });
  });
  after(() => node.close());

  async function tail(): Promise<number> {
    return (await api(node.url, 'GET', '/channels/orders%2Faudit')).json.nextSeq;
  }

  test('one event (utf8, base64, raw) and a batch: 201 with the seqs', async () => {
    const start = await tail();
    const one = await api(node.url, 'POST', EVENTS, { json: utf8Body('hello') });
    assert.equal(one.status, 201);
    assert.deepEqual(one.json, { firstSeq: start, lastSeq: start, count: 1 });
    const b64 = await api(node.url, 'POST', EVENTS, {
      json: { payload: Buffer.from([0, 1, 255]).toString('base64') },
    });
    assert.deepEqual(b64.json, { firstSeq: start + 1, lastSeq: start + 1, count: 1 });
    const raw = await api(node.url, 'POST', EVENTS, {
      body: Buffer.from([9, 8, 7]),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.deepEqual(raw.json, { firstSeq: start + 2, lastSeq: start + 2, count: 1 });
    const batch = await api(node.url, 'POST', EVENTS, {
      json: { events: ['a', 'b', ''], encoding: 'utf8' },
    });
    assert.deepEqual(batch.json, { firstSeq: start + 3, lastSeq: start + 5, count: 3 });
    const read = await api(node.url, 'GET', `${EVENTS}?from=${start}`);
    assert.deepEqual(
      read.json.events.map((event: { payload: string }) =>
        Buffer.from(event.payload, 'base64').toString('hex'),
      ),
      ['68656c6c6f', '0001ff', '090807', '61', '62', ''],
    );
  });

  test('an empty batch is 200 and consumes nothing', async () => {
    const before = await tail();
    const answer = await api(node.url, 'POST', EVENTS, { json: { events: [] } });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { firstSeq: null, lastSeq: null, count: 0 });
    assert.equal(await tail(), before);
  });

  test('malformed bodies are 400 and append nothing', async () => {
    const before = await tail();
    const cases: [unknown, RegExp][] = [
      [{ payload: 'a', events: ['b'] }, /exactly one/],
      [{}, /exactly one/],
      [{ payload: 'a', extra: 1 }, /unknown field "extra"/],
      [{ payload: 'not base64!' }, /not valid base64/],
      [{ payload: 'abc' }, /not valid base64/],
      [{ payload: 5 }, /payload must be a string/],
      [{ events: 'a' }, /must be an array/],
      [{ events: ['YQ==', 7] }, /events\[1\] must be a string/],
      [{ payload: 'a', encoding: 'latin1' }, /encoding must be/],
      [[1, 2], /must be an object/],
      [null, /must be an object/],
    ];
    for (const [body, message] of cases) {
      const error = errorOf(
        await api(node.url, 'POST', EVENTS, { json: body }),
        400,
        'BAD_REQUEST',
      );
      assert.match(error.message, message);
    }
    errorOf(
      await api(node.url, 'POST', EVENTS, {
        body: '{"payload":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'BAD_JSON',
    );
    errorOf(
      await api(node.url, 'POST', EVENTS, { body: 'x', headers: { 'content-type': 'text/plain' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assert.equal(await tail(), before);
  });

  test(`a batch holds at most ${BATCH_EVENTS_MAX} events`, async () => {
    const before = await tail();
    const error = errorOf(
      await api(node.url, 'POST', EVENTS, {
        json: { events: Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => '') },
      }),
      400,
      'BAD_REQUEST',
    );
    assert.match(error.message, new RegExp(`at most ${BATCH_EVENTS_MAX}`));
    const ok = await api(node.url, 'POST', EVENTS, {
      json: { events: Array.from({ length: BATCH_EVENTS_MAX }, () => '') },
    });
    assert.equal(ok.json.count, BATCH_EVENTS_MAX);
    assert.equal(await tail(), before + BATCH_EVENTS_MAX);
  });

  test('body limits: JSON, raw and one event, declared or chunked', async () => {
    const before = await tail();
    const json = JSON.stringify({ payload: 'x'.repeat(APPEND_JSON_BODY_BYTES_MAX) });
    const declared = errorOf(
      await api(node.url, 'POST', EVENTS, {
        body: json,
        headers: { 'content-type': 'application/json' },
      }),
      413,
      'BODY_TOO_LARGE',
    );
    assert.equal(declared.limitBytes, APPEND_JSON_BODY_BYTES_MAX);
    const rawTooBig = errorOf(
      await api(node.url, 'POST', EVENTS, {
        body: Buffer.alloc(RAW_EVENT_BYTES_MAX + 1),
        headers: { 'content-type': 'application/octet-stream' },
      }),
      413,
      'BODY_TOO_LARGE',
    );
    assert.equal(rawTooBig.limitBytes, RAW_EVENT_BYTES_MAX);
    const chunked = await chunkedPost(
      node.url + EVENTS,
      'application/octet-stream',
      Buffer.alloc(64 * 1024),
      80,
    );
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.body).error.code, 'BODY_TOO_LARGE');
    // A JSON body cannot hold an event this large any more; the binary batch format can.
    const oneEvent = errorOf(
      await api(node.url, 'POST', EVENTS, {
        body: encodeBatchBody([Buffer.alloc(EVENT_BYTES_MAX + 1)]),
        headers: { 'content-type': BATCH_MEDIA_TYPE },
      }),
      413,
      'BODY_TOO_LARGE',
    );
    assert.match(oneEvent.message, /event 0 of the batch holds/);
    const exactly = await api(node.url, 'POST', EVENTS, {
      body: Buffer.alloc(RAW_EVENT_BYTES_MAX, 1),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(exactly.status, 201, 'exactly the limit is allowed');
    assert.equal(await tail(), before + 1);
    // The server is still healthy after connections were cut.
    assert.equal((await api(node.url, 'GET', '/healthz')).status, 200);
  });

  test('replicas and timeoutMs are checked; replicas on a single node are 501', async () => {
    errorOf(
      await api(node.url, 'POST', `${EVENTS}?replicas=1`, { json: utf8Body('x') }),
      501,
      'UNAVAILABLE',
    );
    errorOf(
      await api(node.url, 'POST', `${EVENTS}?replicas=17`, { json: utf8Body('x') }),
      400,
      'BAD_REQUEST',
    );
    errorOf(
      await api(node.url, 'POST', `${EVENTS}?timeoutMs=0`, { json: utf8Body('x') }),
      400,
      'BAD_REQUEST',
    );
    errorOf(
      await api(node.url, 'POST', `${EVENTS}?replicas=-1`, { json: utf8Body('x') }),
      400,
      'BAD_REQUEST',
    );
    assert.equal(
      (await api(node.url, 'POST', `${EVENTS}?replicas=0`, { json: utf8Body('x') })).status,
      201,
    );
  });

  test('an unknown channel is 404', async () => {
    errorOf(
      await api(node.url, 'POST', '/channels/nope/events', { json: utf8Body('x') }),
      404,
      'CHANNEL_NOT_FOUND',
    );
  });
});

describe('read', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('orders/audit')] });
    await api(node.url, 'POST', EVENTS, {
      json: { events: ['zero', 'one', 'two', 'three', 'four'], encoding: 'utf8' },
    });
    await api(node.url, 'POST', EVENTS, {
      body: Buffer.from([0xff, 0x00]),
      headers: { 'content-type': 'application/octet-stream' },
    });
  });
  after(() => node.close());

  test('defaults: from 0 to the tail, base64, with next, firstSeq and nextSeq', async () => {
    const answer = await api(node.url, 'GET', EVENTS);
    assert.equal(answer.status, 200);
    assert.equal(answer.json.channel, 'orders/audit');
    assert.equal(answer.json.encoding, 'base64');
    assert.equal(answer.json.events.length, 6);
    assert.equal(answer.json.events[0].payload, Buffer.from('zero').toString('base64'));
    assert.match(answer.json.events[0].timestampNs, /^\d+$/);
    assert.deepEqual([answer.json.next, answer.json.firstSeq, answer.json.nextSeq], [6, 0, 6]);
  });

  test('utf8: text as is, and a non-UTF-8 event in base64 marked as such', async () => {
    const answer = await api(node.url, 'GET', `${EVENTS}?from=4&encoding=utf8`);
    assert.deepEqual(
      answer.json.events.map((event: object) => ({ ...event, timestampNs: undefined })),
      [
        { seq: 4, payload: 'four', timestampNs: undefined },
        { seq: 5, payload: '/wA=', encoding: 'base64', timestampNs: undefined },
      ],
    );
  });

  test('from, to, limit and maxBytes bound the page; next continues it', async () => {
    const page = await api(node.url, 'GET', `${EVENTS}?from=1&to=4&limit=2&encoding=utf8`);
    assert.deepEqual(
      page.json.events.map((event: { payload: string }) => event.payload),
      ['one', 'two'],
    );
    assert.equal(page.json.next, 3);
    const rest = await api(node.url, 'GET', `${EVENTS}?from=3&to=4&encoding=utf8`);
    assert.deepEqual(
      rest.json.events.map((event: { payload: string }) => event.payload),
      ['three'],
    );
    assert.equal(rest.json.next, 4);
    const bytes = await api(node.url, 'GET', `${EVENTS}?maxBytes=8&encoding=utf8`);
    assert.deepEqual(
      bytes.json.events.map((event: { payload: string }) => event.payload),
      ['zero', 'one'],
    );
    const past = await api(node.url, 'GET', `${EVENTS}?from=100`);
    assert.deepEqual([past.json.events.length, past.json.next], [0, 100]);
  });

  test('bad parameters are 400s naming them', async () => {
    for (const [query, name] of [
      ['from=-1', 'from'],
      ['from=x', 'from'],
      ['from=1.5', 'from'],
      ['to=1&from=2', "'to'"],
      ['limit=0', 'limit'],
      [`limit=${READ_EVENTS_MAX + 1}`, 'limit'],
      ['maxBytes=0', 'maxBytes'],
      ['encoding=hex', 'encoding'],
      ['from=99999999999999999', 'from'],
    ]) {
      const error = errorOf(await api(node.url, 'GET', `${EVENTS}?${query}`), 400, 'BAD_REQUEST');
      assert.match(error.message, new RegExp(name!), query);
    }
  });
});

describe('errors from the service', () => {
  test('NOT_LEADER is 421 with the leader from the member list', async () => {
    const service = new FakeService({}, [
      { name: 'node-a', nodeId: 1n, mesh: '10.0.0.1:7071', http: 'http://10.0.0.1:7070' },
      { name: 'node-b', nodeId: 2n, mesh: '10.0.0.2:7071', http: 'http://10.0.0.2:7070' },
    ]);
    await service.createChannel(memorySpec('orders/audit'));
    const node = await startTestNode({ service });
    try {
      service.overrides.append = async (channel) => {
        throw new NotLeaderError(channel, 2n, '10.0.0.2:7071');
      };
      const error = errorOf(
        await api(node.url, 'POST', EVENTS, { json: utf8Body('x') }),
        421,
        'NOT_LEADER',
      );
      assert.deepEqual(error.leader, {
        name: 'node-b',
        nodeId: '0000000000000002',
        http: 'http://10.0.0.2:7070',
      });
      service.overrides.append = async (channel) => {
        throw new NotLeaderError(channel, null, null);
      };
      const unknown = errorOf(
        await api(node.url, 'POST', EVENTS, { json: utf8Body('x') }),
        421,
        'NOT_LEADER',
      );
      assert.deepEqual(unknown.leader, { name: null, nodeId: null, http: null });
      service.overrides.append = async (channel) => {
        throw new NotLeaderError(channel, 9n, 'http://10.0.0.9:7070');
      };
      const direct = errorOf(
        await api(node.url, 'POST', EVENTS, { json: utf8Body('x') }),
        421,
        'NOT_LEADER',
      );
      assert.deepEqual(direct.leader, {
        name: null,
        nodeId: '0000000000000009',
        http: 'http://10.0.0.9:7070',
      });
    } finally {
      await node.close();
    }
  });

  test('an untyped failure is 500 INTERNAL and reveals nothing', async () => {
    const service = new FakeService({
      status: async () => {
        throw new Error('secret detail at /internal/path');
      },
    });
    const logged: unknown[] = [];
    const node = await startTestNode({
      service,
      http: {
        logger: { error: (fields) => logged.push(fields), warn() {}, info() {}, debug() {} },
      },
    });
    try {
      const error = errorOf(await api(node.url, 'GET', '/status'), 500, 'INTERNAL');
      assert.doesNotMatch(error.message, /secret/);
      assert.equal(logged.length, 1, 'the detail goes to the log');
    } finally {
      await node.close();
    }
  });

  test('while shutting down: writes 503 SHUTTING_DOWN, health 503', async () => {
    const node = await startTestNode({ channels: [memorySpec('orders/audit')] });
    await node.service.shutdown();
    const error = errorOf(
      await api(node.url, 'POST', EVENTS, { json: utf8Body('x') }),
      503,
      'SHUTTING_DOWN',
    );
    assert.match(error.message, /shutting down/);
    const health = await api(node.url, 'GET', '/healthz');
    assert.equal(health.status, 503);
    await node.close();
  });
});
