// Hostile and random requests: any method, path, query, content type and body gets a JSON answer
// below 500 (a 5xx would mean an untyped failure, i.e. a bug), and the node keeps serving.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { api, memorySpec, startTestNode, type TestNode, withTimeout } from './helpers.js';

function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; contentType: string; text: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      // An explicit length: Node's client sends a GET body unframed, which no server can parse.
      const framed = { ...headers, 'content-length': String(body.byteLength) };
      const request = http.request(`${url}${path}`, { method, headers: framed }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          // A stream route answered 200: one chunk is enough to know it opened.
          text += chunk;
          if (response.headers['content-type']?.startsWith('text/event-stream')) response.destroy();
        });
        const done = () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'] ?? '',
            text,
          });
        response.on('end', done);
        response.on('close', done);
      });
      request.on('error', reject);
      request.end(body);
    }),
    `${method} ${path}`,
  );
}

const segment = fc.oneof(
  fc.constantFrom(
    'channels',
    'events',
    'tail',
    'status',
    'metrics',
    'healthz',
    'orders%2Faudit',
    'orders',
    '%2F',
    '%',
    '%zz',
    '..',
    '.',
    '',
    'A',
    '%00',
    '%E2%82%AC',
    '%FF',
  ),
  fc.stringMatching(/^[a-zA-Z0-9._~%-]{0,12}$/),
);
const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom(
          'from',
          'to',
          'limit',
          'maxBytes',
          'encoding',
          'replicas',
          'timeoutMs',
          'access_token',
          'x',
        ),
        fc.constantFrom(
          '0',
          '1',
          '-1',
          '1e3',
          '99999999999999999999',
          'utf8',
          'base64',
          '',
          '%zz',
          'NaN',
        ),
      ),
      { maxLength: 3 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
);
const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/octet-stream',
  'text/plain',
  'multipart/form-data',
);
const body = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc
    .constantFrom(
      '{}',
      '[]',
      'null',
      '{"payload":"x"}',
      '{"events":[1]}',
      '{"name":"a"}',
      '{"name":"orders/audit","file":{"fsync":{}}}',
      '{',
      '"\\ud800"',
    )
    .map((text) => Buffer.from(text)),
  fc.json().map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

describe('random requests', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('orders/audit'), memorySpec('orders')] });
  });
  after(() => node.close());

  test('never a 5xx, always JSON or a stream, and the node stays up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.array(segment, { minLength: 0, maxLength: 4 }),
        query,
        contentType,
        body,
        async (method, segments, search, type, payload) => {
          const path = `/${segments.join('/')}${search}`;
          const headers: Record<string, string> =
            type === undefined ? {} : { 'content-type': type };
          const answer = await send(node.url, method, path, headers, payload);
          assert.ok(
            answer.status >= 200 && answer.status < 500,
            `${method} ${path} → ${answer.status} ${answer.text}`,
          );
          // 204: a DELETE of a channel that exists (`/channels/orders`, or `/channels/./orders`,
          // which URL parsing resolves to it) answers with no body at all.
          if (answer.status === 204) {
            assert.equal(answer.text, '');
            return;
          }
          if (method === 'HEAD' || answer.contentType.startsWith('text/')) return;
          const json = JSON.parse(answer.text);
          if (answer.status >= 400) {
            assert.equal(typeof json.error.code, 'string');
            assert.match(json.error.message, /^redex: /);
          }
        },
      ),
      { numRuns: 300 },
    );
    assert.equal((await api(node.url, 'GET', '/healthz')).status, 200);
  });
});
