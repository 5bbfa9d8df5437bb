// Findings: (DNS rebinding) a node without a token answered requests whose Host and Origin were
// `attacker.example`, so any web page in the operator's browser could read and write it; (client
// certificates) any certificate the cluster CA signed was a full API client. Now a node without
// a token answers only its own names and origin, and client certificates need an allowed name.

import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { createCa, createClientCert, createNodeCert } from '../../src/mesh/certs.js';
import { hostnameOf } from '../../src/node/http/host-guard.js';
import { api, memorySpec, startTestNode, type TestNode, withTimeout } from './helpers.js';

interface Raw {
  readonly status: number;
  readonly code: string | undefined;
}

/** A request with exactly these headers (fetch would not let a test set Host). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<Raw> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const request = http.request(
        `${url}${path}`,
        { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => {
            let code: string | undefined;
            try {
              code = JSON.parse(text).error?.code;
            } catch {}
            resolve({ status: response.statusCode ?? 0, code });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    }),
    `${method} ${path}`,
  );
}

describe('Host and Origin on a node without a token', () => {
  let node: TestNode;
  let port: string;
  before(async () => {
    node = await startTestNode({
      channels: [memorySpec('rebind')],
      http: { hostNames: ['redex.internal'] },
    });
    port = new URL(node.url).port;
  });
  after(() => node.close());

  test('a foreign Host is refused on every route, before anything is read or written', async () => {
    const foreign = { host: `attacker.example:${port}` };
    const status = await raw(node.url, 'GET', '/status', foreign);
    assert.deepEqual(status, { status: 403, code: 'FOREIGN_HOST' });
    const create = await raw(
      node.url,
      'POST',
      '/channels',
      { ...foreign, 'content-type': 'application/json' },
      '{"name":"evil"}',
    );
    assert.equal(create.status, 403);
    const append = await raw(
      node.url,
      'POST',
      '/channels/rebind/events',
      { ...foreign, 'content-type': 'application/json' },
      '{"payload":"eA=="}',
    );
    assert.equal(append.status, 403);
    const list = await raw(node.url, 'GET', '/channels', {});
    assert.equal(list.status, 200);
    const read = await raw(node.url, 'GET', '/channels/evil', {});
    assert.equal(read.status, 404, 'the foreign create did not happen');
  });

  test('a foreign Origin is refused; the node’s own origin (the dashboard) is served', async () => {
    const host = `127.0.0.1:${port}`;
    for (const origin of ['http://attacker.example', 'null', `http://localhost:${port}`]) {
      const answer = await raw(node.url, 'POST', '/channels', {
        host,
        origin,
        'content-type': 'application/json',
      });
      assert.deepEqual(answer, { status: 403, code: 'FOREIGN_ORIGIN' }, origin);
    }
    const own = await raw(
      node.url,
      'POST',
      '/channels',
      { host, origin: `http://${host}`, 'content-type': 'application/json' },
      '{"name":"mine"}',
    );
    assert.equal(own.status, 201);
  });

  test('loopback names, IP literals and the configured names are this node', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `app.localhost:${port}`,
      `[::1]:${port}`,
      `10.1.2.3:${port}`,
      `redex.internal:${port}`,
      'redex.internal',
    ]) {
      assert.equal((await raw(node.url, 'GET', '/status', { host })).status, 200, host);
    }
    assert.equal(hostnameOf('[::1]:80'), '::1');
    assert.equal(hostnameOf('a:b:c'), null);
  });

  test('a node with a token serves any Host and Origin that brings the token', async () => {
    const token = 'a-token-long-enough-to-be-accepted';
    const guarded = await startTestNode({ token });
    try {
      const answer = await raw(guarded.url, 'GET', '/status', {
        host: 'attacker.example',
        origin: 'http://attacker.example',
        authorization: `Bearer ${token}`,
      });
      assert.equal(answer.status, 200);
      const anonymous = await raw(guarded.url, 'GET', '/status', { host: 'attacker.example' });
      assert.equal(anonymous.status, 401);
    } finally {
      await guarded.close();
    }
  });
});

describe('client certificate names', () => {
  test('only members and configured client names are API clients', async () => {
    const ca = await createCa();
    const server = await createNodeCert(ca, 'node-a', { hosts: ['127.0.0.1'] });
    const member = await createNodeCert(ca, 'node-b');
    const admin = await createClientCert(ca, 'admin');
    const stranger = await createNodeCert(ca, 'stranger');
    const strangerClient = await createClientCert(ca, 'intruder');
    const node = await startTestNode({
      http: {
        tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
        clientNames: ['node-a', 'node-b', 'admin'],
      },
    });
    const get = (cert: { certPem: string; keyPem: string }) =>
      withTimeout(
        new Promise<Raw>((resolve, reject) => {
          const request = https.get(
            `${node.url}/status`,
            { ca: ca.certPem, cert: cert.certPem, key: cert.keyPem },
            (response) => {
              let text = '';
              response.on('data', (chunk: Buffer) => {
                text += chunk.toString();
              });
              response.on('end', () =>
                resolve({ status: response.statusCode ?? 0, code: JSON.parse(text).error?.code }),
              );
            },
          );
          request.on('error', reject);
        }),
        'an HTTPS request',
      );
    try {
      assert.equal((await get(member)).status, 200);
      assert.equal((await get(admin)).status, 200);
      assert.deepEqual(await get(stranger), { status: 403, code: 'FORBIDDEN_CLIENT' });
      assert.deepEqual(await get(strangerClient), { status: 403, code: 'FORBIDDEN_CLIENT' });
    } finally {
      await node.close();
    }
  });
});

describe('what held: no CORS, 415 for simple cross-site types, 413 changes nothing', () => {
  test('no answer carries CORS headers; a preflight gets no permission', async () => {
    const node = await startTestNode({ channels: [memorySpec('cors')] });
    try {
      const origin = `http://127.0.0.1:${new URL(node.url).port}`;
      for (const [method, path] of [
        ['GET', '/status'],
        ['OPTIONS', '/channels/cors/events'],
        ['GET', '/'],
      ] as const) {
        const answer = await fetch(`${node.url}${path}`, { method, headers: { origin } });
        await answer.arrayBuffer();
        const cors = [...answer.headers.keys()].filter((name) => name.startsWith('access-control'));
        assert.deepEqual(cors, [], `${method} ${path}`);
        assert.notEqual(answer.status, 204, `${method} ${path}`);
      }
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
      ]) {
        const answer = await raw(
          node.url,
          'POST',
          '/channels/cors/events',
          { 'content-type': type },
          'x',
        );
        assert.equal(answer.status, 415, type);
      }
      // Over the 8 MiB JSON limit: refused on Content-Length, before a byte is parsed.
      const big = `{"payload":"${'A'.repeat(9 * 1024 * 1024)}"}`;
      const tooBig = await raw(
        node.url,
        'POST',
        '/channels/cors/events',
        { 'content-type': 'application/json' },
        big,
      );
      assert.equal(tooBig.status, 413);
      const events = await api(node.url, 'GET', '/channels/cors/events');
      assert.deepEqual(events.json.events, [], 'nothing was appended');
    } finally {
      await node.close();
    }
  });
});
