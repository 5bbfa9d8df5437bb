// Authentication: the bearer token on every route but the dashboard shell and health, the query
// token only on the two streams EventSource opens, and HTTPS with required client certificates.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { createCa, createNodeCert } from '../../src/mesh/certs.js';
import { api, memorySpec, startTestNode, type TestNode, TestSse, withTimeout } from './helpers.js';

const TOKEN = 'test-token-0123456789abcdef';

describe('bearer token', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ token: TOKEN, channels: [memorySpec('orders/audit')] });
  });
  after(() => node.close());

  test('the dashboard shell and health are public', async () => {
    assert.equal((await api(node.url, 'GET', '/')).status, 200);
    assert.equal((await api(node.url, 'GET', '/healthz')).status, 200);
  });

  test('every other route needs the token: 401 with WWW-Authenticate', async () => {
    for (const [method, path] of [
      ['GET', '/status'],
      ['GET', '/metrics'],
      ['GET', '/channels'],
      ['POST', '/channels'],
      ['GET', '/channels/orders%2Faudit'],
      ['GET', '/channels/orders%2Faudit/events'],
      ['POST', '/channels/orders%2Faudit/events'],
      ['GET', '/channels/orders%2Faudit/tail'],
      ['GET', '/events/status'],
    ] as const) {
      const answer = await api(node.url, method, path);
      assert.equal(answer.status, 401, `${method} ${path}`);
      assert.equal(answer.json.error.code, 'UNAUTHORIZED');
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="redex"');
    }
  });

  test('an anonymous client learns nothing about routes: unknown paths and bad names are 401 too', async () => {
    assert.equal((await api(node.url, 'GET', '/nope')).status, 401);
    assert.equal((await api(node.url, 'GET', '/channels/BAD')).status, 401);
    assert.equal((await api(node.url, 'DELETE', '/status')).status, 401);
    assert.equal((await api(node.url, 'GET', '/nope', { token: TOKEN })).status, 404);
    assert.equal((await api(node.url, 'GET', '/channels/BAD', { token: TOKEN })).status, 400);
  });

  test('a wrong or malformed token is 401; the right one passes', async () => {
    assert.equal((await api(node.url, 'GET', '/status', { token: `${TOKEN}x` })).status, 401);
    assert.equal(
      (await api(node.url, 'GET', '/status', { token: TOKEN.slice(0, -1) })).status,
      401,
    );
    const basic = await api(node.url, 'GET', '/status', {
      headers: { authorization: `Basic ${TOKEN}` },
    });
    assert.equal(basic.status, 401);
    assert.match(basic.json.error.message, /Bearer <token>/);
    assert.equal((await api(node.url, 'GET', '/status', { token: TOKEN })).status, 200);
    assert.equal(
      (await api(node.url, 'GET', '/status', { headers: { authorization: `bearer ${TOKEN}` } }))
        .status,
      200,
      'the scheme is case-insensitive',
    );
  });

  test('?access_token= works on the streams only', async () => {
    const status = await TestSse.open(`${node.url}/events/status?access_token=${TOKEN}`);
    assert.equal(status.status, 200);
    assert.equal((await status.next())!.event, 'status');
    status.close();
    const tail = await TestSse.open(
      `${node.url}/channels/orders%2Faudit/tail?access_token=${TOKEN}`,
    );
    assert.equal(tail.status, 200);
    tail.close();
    assert.equal((await api(node.url, 'GET', `/status?access_token=${TOKEN}`)).status, 401);
    assert.equal((await api(node.url, 'GET', `/channels?access_token=${TOKEN}`)).status, 401);
    assert.equal(
      (await api(node.url, 'GET', '/events/status?access_token=wrong-token-000000000')).status,
      401,
    );
  });
});

describe('client certificates', () => {
  test('HTTPS answers a client with a certificate from the cluster CA and nobody else', async () => {
    const ca = await createCa();
    const server = await createNodeCert(ca, 'node-a', { hosts: ['127.0.0.1'] });
    const client = await createNodeCert(ca, 'operator');
    const foreignCa = await createCa();
    const foreign = await createNodeCert(foreignCa, 'operator');
    const node = await startTestNode({
      channels: [memorySpec('orders/audit')],
      http: { tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem } },
    });
    const get = (cert: { certPem: string; keyPem: string } | null) =>
      withTimeout(
        new Promise<number>((resolve, reject) => {
          const request = https.get(
            `${node.url}/status`,
            { ca: ca.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          );
          request.on('error', reject);
        }),
        'an HTTPS request',
      );
    try {
      assert.match(node.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await get(client), 200);
      await assert.rejects(get(null), 'no client certificate');
      await assert.rejects(get(foreign), 'a certificate from another CA');
    } finally {
      await node.close();
    }
  });
});
