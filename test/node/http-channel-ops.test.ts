// DELETE /channels/{name}, the guarded append (`?ifNextSeq=N`) and binary reads
// (`Accept: application/octet-stream`) on one node with a data directory.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChannelRegistry, REGISTRY_FILE } from '../../src/node/channel-registry.js';
import {
  COUNT_HEADER,
  decodeBinaryRead,
  encodeBinaryRead,
  FIRST_SEQ_HEADER,
  NEXT_HEADER,
  NEXT_SEQ_HEADER,
  prefersBinary,
} from '../../src/node/http/binary-read.js';
import { api, startTestNode, type TestNode, TestSse, utf8Body, withTimeout } from './helpers.js';

const OCTETS = { accept: 'application/octet-stream' };

function errorOf(
  answer: { status: number; json: { error?: Record<string, unknown> } },
  status: number,
  code: string,
): Record<string, unknown> {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.json.error?.code, code, JSON.stringify(answer.json));
  return answer.json.error!;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function binaryRead(url: string, path: string) {
  const response = await withTimeout(fetch(url + path, { headers: OCTETS }), `GET ${path}`);
  const body = new Uint8Array(await response.arrayBuffer());
  return { response, body, events: decodeBinaryRead(body) };
}

describe('channel operations on a node with a data directory', () => {
  let dir: string;
  let node: TestNode;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redex-http-ops-'));
    const registry = await ChannelRegistry.open(dir, {
      defaultPersistent: true,
      members: new Set(),
    });
    node = await startTestNode({ dir, serviceOptions: { registry } });
    // A channel of the config file: the node opens it at every start.
    await node.local!.createChannel(
      { name: 'configured', file: { persistent: true }, replication: null },
      { origin: 'config' },
    );
  });
  after(async () => {
    await node.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('DELETE: 204, then gone from the node, channels.json and the disk; 404 after', async () => {
    const created = await api(node.url, 'POST', '/channels', { json: { name: 'tmp/orders' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(
      (await api(node.url, 'POST', '/channels/tmp%2Forders/events', { json: utf8Body('a') }))
        .status,
      201,
    );
    const store = join(dir, 'tmp', 'orders', '@redex');
    assert.equal(await exists(store), true);
    const registered = () =>
      readFile(join(dir, REGISTRY_FILE), 'utf8').then(
        (text) => JSON.parse(text).channels.map((c: { name: string }) => c.name) as string[],
      );
    assert.deepEqual(await registered(), ['tmp/orders']);

    const series = /redex_channel_tail_seq\{channel="tmp\/orders"\}/;
    assert.match((await api(node.url, 'GET', '/metrics')).text, series);
    const deleted = await api(node.url, 'DELETE', '/channels/tmp%2Forders');
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal(deleted.text, '');
    assert.equal(await exists(store), false);
    assert.deepEqual(await registered(), []);
    assert.doesNotMatch((await api(node.url, 'GET', '/metrics')).text, series);
    errorOf(await api(node.url, 'GET', '/channels/tmp%2Forders'), 404, 'CHANNEL_NOT_FOUND');
    errorOf(await api(node.url, 'DELETE', '/channels/tmp%2Forders'), 404, 'CHANNEL_NOT_FOUND');
    errorOf(
      await api(node.url, 'POST', '/channels/tmp%2Forders/events', { json: utf8Body('b') }),
      404,
      'CHANNEL_NOT_FOUND',
    );

    // The name is free again, and starts empty.
    const again = await api(node.url, 'POST', '/channels', { json: { name: 'tmp/orders' } });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.json.channel.nextSeq, 0);
  });

  test('DELETE ends the open tails of the channel with `event: end`', async () => {
    await api(node.url, 'POST', '/channels', { json: { name: 'tailed' } });
    const sse = await TestSse.open(`${node.url}/channels/tailed/tail`);
    try {
      assert.equal((await api(node.url, 'DELETE', '/channels/tailed')).status, 204);
      await withTimeout(sse.ended, 'the tail ends');
      assert.match(sse.raw, /event: end\ndata: \{"reason":"closed"\}/);
    } finally {
      sse.close();
    }
  });

  test('DELETE: a config-file channel is 409 CHANNEL_IN_CONFIG and stays', async () => {
    const error = errorOf(
      await api(node.url, 'DELETE', '/channels/configured'),
      409,
      'CHANNEL_IN_CONFIG',
    );
    assert.match(String(error.message), /config file/);
    assert.equal((await api(node.url, 'GET', '/channels/configured')).status, 200);
  });

  test('DELETE: a bad name is 400, a query parameter is refused', async () => {
    errorOf(await api(node.url, 'DELETE', '/channels/Bad'), 400, 'CHANNEL_NAME');
    errorOf(await api(node.url, 'DELETE', '/channels/configured?force=1'), 400, 'BAD_REQUEST');
  });

  test('guarded append: the right next seq stores, a wrong one is 409 with the actual', async () => {
    await api(node.url, 'POST', '/channels', { json: { name: 'guarded' } });
    const path = '/channels/guarded/events';
    const first = await api(node.url, 'POST', `${path}?ifNextSeq=0`, { json: utf8Body('a') });
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(first.json, { firstSeq: 0, lastSeq: 0, count: 1 });
    const batch = await api(node.url, 'POST', `${path}?ifNextSeq=1`, {
      json: { events: ['Yg==', 'Yw=='] },
    });
    assert.deepEqual(batch.json, { firstSeq: 1, lastSeq: 2, count: 2 });

    const stale = errorOf(
      await api(node.url, 'POST', `${path}?ifNextSeq=1`, { json: utf8Body('x') }),
      409,
      'SEQ_MISMATCH',
    );
    assert.equal(stale.nextSeq, 3);
    assert.equal(stale.expectedSeq, 1);
    const ahead = errorOf(
      await api(node.url, 'POST', `${path}?ifNextSeq=9`, {
        body: 'raw',
        headers: { 'content-type': 'application/octet-stream' },
      }),
      409,
      'SEQ_MISMATCH',
    );
    assert.equal(ahead.nextSeq, 3);
    assert.equal((await api(node.url, 'GET', '/channels/guarded')).json.nextSeq, 3);
    errorOf(
      await api(node.url, 'POST', `${path}?ifNextSeq=-1`, { json: utf8Body('x') }),
      400,
      'BAD_REQUEST',
    );
  });

  test('guarded append: of two writers racing for the same seq exactly one wins', async () => {
    await api(node.url, 'POST', '/channels', { json: { name: 'race' } });
    const path = '/channels/race/events';
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        ['left', 'right'].map((who) =>
          api(node.url, 'POST', `${path}?ifNextSeq=${round}`, { json: utf8Body(`${who}${round}`) }),
        ),
      );
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [201, 409], `round ${round}`);
      const winner = answers.find((answer) => answer.status === 201)!;
      assert.equal(winner.json.firstSeq, round);
      assert.equal(answers.find((answer) => answer.status === 409)!.json.error.nextSeq, round + 1);
    }
    const read = await api(node.url, 'GET', `${path}?encoding=utf8`);
    assert.equal(read.json.events.length, 20);
  });

  test('binary read: raw payloads with zero bytes, cursors in headers, empty page', async () => {
    await api(node.url, 'POST', '/channels', { json: { name: 'bin' } });
    const payloads = [
      Uint8Array.of(0, 0, 0),
      Uint8Array.of(),
      Uint8Array.of(255, 0, 1, 0),
      new Uint8Array(70_000).fill(0),
    ];
    for (const payload of payloads) {
      const answer = await api(node.url, 'POST', '/channels/bin/events', {
        body: payload,
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(answer.status, 201, answer.text);
    }
    const all = await binaryRead(node.url, '/channels/bin/events');
    assert.equal(all.response.status, 200);
    assert.equal(all.response.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(
      all.events.map((event) => event.seq),
      [0, 1, 2, 3],
    );
    assert.deepEqual(
      all.events.map((event) => [...event.payload]),
      payloads.map((payload) => [...payload]),
    );
    assert.equal(all.response.headers.get(NEXT_HEADER), '4');
    assert.equal(all.response.headers.get(NEXT_SEQ_HEADER), '4');
    assert.equal(all.response.headers.get(FIRST_SEQ_HEADER), '0');
    assert.equal(all.response.headers.get(COUNT_HEADER), '4');
    assert.equal(all.body.byteLength, 4 * 12 + 3 + 0 + 4 + 70_000);

    const page = await binaryRead(node.url, '/channels/bin/events?from=1&limit=2');
    assert.deepEqual(
      page.events.map((event) => event.seq),
      [1, 2],
    );
    assert.equal(page.response.headers.get(NEXT_HEADER), '3');

    const empty = await binaryRead(node.url, '/channels/bin/events?from=4');
    assert.equal(empty.response.status, 200);
    assert.equal(empty.body.byteLength, 0);
    assert.equal(empty.response.headers.get(NEXT_HEADER), '4');
    assert.equal(empty.response.headers.get(COUNT_HEADER), '0');

    // Errors stay JSON whatever the Accept header says.
    const missing = await withTimeout(
      fetch(`${node.url}/channels/nope/events`, { headers: OCTETS }),
      'GET nope',
    );
    assert.equal(missing.status, 404);
    assert.equal(
      ((await missing.json()) as { error: { code: string } }).error.code,
      'CHANNEL_NOT_FOUND',
    );
  });

  test('binary read on a channel with nothing retained has no first-seq header', async () => {
    await api(node.url, 'POST', '/channels', { json: { name: 'bin-empty' } });
    const empty = await binaryRead(node.url, '/channels/bin-empty/events');
    assert.equal(empty.body.byteLength, 0);
    assert.equal(empty.response.headers.get(FIRST_SEQ_HEADER), null);
    assert.equal(empty.response.headers.get(NEXT_HEADER), '0');
  });
});

describe('binary read format', () => {
  test('Accept negotiation: octet-stream only when preferred over JSON', () => {
    assert.equal(prefersBinary(undefined), false);
    assert.equal(prefersBinary('application/json'), false);
    assert.equal(prefersBinary('*/*'), false);
    assert.equal(prefersBinary('application/octet-stream'), true);
    assert.equal(prefersBinary('Application/Octet-Stream; q=1'), true);
    assert.equal(prefersBinary('application/octet-stream, application/json'), true);
    assert.equal(prefersBinary('application/json, application/octet-stream'), false);
    assert.equal(prefersBinary('application/json;q=0.5, application/octet-stream'), true);
    assert.equal(prefersBinary('application/octet-stream;q=0'), false);
  });

  test('encode and decode are inverse; a cut-off body is refused', () => {
    const events = [
      { seq: 2 ** 40, payload: Uint8Array.of(0), timestampNs: 0n },
      { seq: 2 ** 40 + 1, payload: Uint8Array.of(), timestampNs: 0n },
    ];
    const body = encodeBinaryRead(events);
    assert.deepEqual(
      decodeBinaryRead(body).map((event) => [event.seq, [...event.payload]]),
      [
        [2 ** 40, [0]],
        [2 ** 40 + 1, []],
      ],
    );
    assert.throws(() => decodeBinaryRead(body.subarray(0, 5)), /cut off/);
    assert.throws(() => decodeBinaryRead(body.subarray(0, 12)), /cut off/);
  });
});
