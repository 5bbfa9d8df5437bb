// Finding: one request could hold the event loop for seconds (JSON.parse of megabytes of nested
// arrays, with the batch limit checked only after parsing), and a deeply nested channel spec
// answered 500 (a stack overflow in the error message). The shape is now checked before parsing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BATCH_MEDIA_TYPE, encodeBatchBody } from '../../src/node/http/batch-body.js';
import { HttpError } from '../../src/node/http/errors.js';
import { checkJsonShape } from '../../src/node/http/json-scan.js';
import {
  APPEND_JSON_BODY_BYTES_MAX,
  APPEND_JSON_DEPTH_MAX,
  APPEND_JSON_VALUES_MAX,
  BATCH_EVENTS_MAX,
  CHANNEL_SPEC_DEPTH_MAX,
  CHANNEL_SPEC_VALUES_MAX,
} from '../../src/node/http/limits.js';
import { api, memorySpec, startTestNode, type TestNode } from './helpers.js';

function shapeFailure(text: string, depthMax: number, valuesMax: number): string | null {
  try {
    checkJsonShape(Buffer.from(text), { depthMax, valuesMax }, 'the body');
    return null;
  } catch (error) {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 400);
    return error.message;
  }
}

describe('checkJsonShape', () => {
  test('counts depth and values, and ignores brackets and commas inside strings', () => {
    assert.equal(shapeFailure('{"events":["a","b"]}', 2, 3), null);
    assert.match(shapeFailure('{"events":["a","b"]}', 2, 2) ?? '', /more than 2 values/);
    assert.match(shapeFailure('{"a":[[]]}', 2, 10) ?? '', /deeper than 2/);
    assert.equal(shapeFailure('{"a":"[[[[,,,,\\"[[[,,"}', 1, 1), null);
    assert.equal(shapeFailure('[ ]', 1, 0), null);
    assert.match(shapeFailure('[ 1 ]', 1, 0) ?? '', /more than 0 values/);
  });
});

describe('hostile JSON bodies', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('shape')] });
  });
  after(() => node.close());

  test('the largest body of nested arrays in an append: 400 before parsing, nothing appended', async () => {
    const depth = Math.floor((APPEND_JSON_BODY_BYTES_MAX - 64) / 2);
    const body = `{"events":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const answer = await api(node.url, 'POST', '/channels/shape/events', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.code, 'BAD_JSON');
    assert.equal(answer.json.error.depthMax, APPEND_JSON_DEPTH_MAX);
    const read = await api(node.url, 'GET', '/channels/shape/events');
    assert.deepEqual(read.json.events, []);
  });

  test('an append with more values than a batch holds is refused before parsing', async () => {
    const count = Math.floor((APPEND_JSON_BODY_BYTES_MAX - 64) / 3);
    assert.ok(count > BATCH_EVENTS_MAX);
    const body = `{"events":[${Array.from({ length: count }, () => '[]').join(',')}]}`;
    const answer = await api(node.url, 'POST', '/channels/shape/events', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error.valuesMax, APPEND_JSON_VALUES_MAX);
  });

  test('a deeply nested channel spec answers 400, not 500', async () => {
    // Under the 64 KiB spec limit, and deep enough to overflow a recursive walk of the value.
    const deep = `${'['.repeat(32_000)}${']'.repeat(32_000)}`;
    for (const body of [
      `{"name":"deep","file":${deep}}`,
      `{"name":"deep","replication":${deep}}`,
    ]) {
      const answer = await api(node.url, 'POST', '/channels', {
        body,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.json.error.depthMax, CHANNEL_SPEC_DEPTH_MAX);
    }
  });

  test('a full pinned replication spec still fits the channel spec shape', () => {
    const spec = JSON.stringify({
      name: 'orders',
      file: { persistent: true, fsync: { everyN: 10 }, retention: { maxEvents: 5 } },
      replication: { replicas: 3, placement: { pinned: ['a', 'b', 'c'] } },
    });
    assert.equal(shapeFailure(spec, CHANNEL_SPEC_DEPTH_MAX, CHANNEL_SPEC_VALUES_MAX), null);
  });
});

describe('the binary batch format', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('frames')] });
  });
  after(() => node.close());

  test('appends length-prefixed events; refuses cut-off, oversize and overlong batches', async () => {
    const post = (body: Uint8Array) =>
      api(node.url, 'POST', '/channels/frames/events', {
        body,
        headers: { 'content-type': BATCH_MEDIA_TYPE },
      });
    const payloads = [Buffer.from('one'), Buffer.alloc(0), Buffer.from([0, 255, 10])];
    const ok = await post(encodeBatchBody(payloads));
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json, { firstSeq: 0, lastSeq: 2, count: 3 });
    const read = await api(node.url, 'GET', '/channels/frames/events');
    assert.deepEqual(
      read.json.events.map((event: { payload: string }) => Buffer.from(event.payload, 'base64')),
      payloads,
    );
    const cut = encodeBatchBody([Buffer.from('abcdef')]).subarray(0, 7);
    assert.equal((await post(cut)).status, 400);
    assert.equal((await post(Buffer.from([0, 0]))).status, 400);
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    assert.equal((await post(huge)).status, 413);
    const many = encodeBatchBody(
      Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => Buffer.alloc(0)),
    );
    assert.equal((await post(many)).status, 400);
    const after = await api(node.url, 'GET', '/channels/frames/events');
    assert.equal(after.json.events.length, 3);
  });
});
