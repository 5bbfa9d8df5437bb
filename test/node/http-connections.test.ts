// Finding: the HTTP server had no connection limits; a few hundred half-sent requests held every
// descriptor and legitimate requests failed. Connections waiting for a request head are now
// bounded per address and in all (the oldest is closed), and a head must arrive in time.

import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import {
  HEADERS_TIMEOUT_MS,
  HTTP_WAITING_CONNECTIONS_MAX,
  HTTP_WAITING_PER_ADDRESS_MAX,
} from '../../src/node/http/limits.js';
import { api, eventually, memorySpec, startTestNode, type TestNode } from './helpers.js';

const sockets: net.Socket[] = [];
let node: TestNode | null = null;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await node?.close();
  node = null;
});

/** Opens `count` connections that each send half a request head and then nothing. */
async function halfSent(url: string, count: number): Promise<{ closed: () => number }> {
  const { port } = new URL(url);
  let closed = 0;
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect(Number(port), '127.0.0.1', () => {
            socket.write('GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
            resolve();
          });
          socket.on('error', () => {});
          socket.once('close', () => closed++);
          socket.once('error', reject);
          sockets.push(socket);
        }),
    ),
  );
  return { closed: () => closed };
}

describe('connections waiting for a request head', () => {
  test('300 half-sent requests from one address: all but the newest few are closed, health still answers', async () => {
    node = await startTestNode();
    const flood = await halfSent(node.url, 300);
    await eventually(
      () => flood.closed() >= 300 - HTTP_WAITING_PER_ADDRESS_MAX,
      'the oldest half-sent connections to be closed',
    );
    assert.ok(node.http.waitingConnections.waiting <= HTTP_WAITING_PER_ADDRESS_MAX);
    assert.equal((await api(node.url, 'GET', '/healthz')).status, 200);
    assert.equal((await api(node.url, 'GET', '/status')).status, 200);
    assert.ok(HEADERS_TIMEOUT_MS <= 10_000);
    assert.ok(HTTP_WAITING_CONNECTIONS_MAX >= HTTP_WAITING_PER_ADDRESS_MAX);
  });

  test('the total is bounded too, and a request already received is never cut', async () => {
    node = await startTestNode({
      channels: [memorySpec('slow')],
      http: { waitingConnections: { totalMax: 4, perAddressMax: 100 } },
    });
    const { port } = new URL(node.url);
    // A client whose head arrived and whose body is still coming: not waiting, not evictable.
    const body = '{"payload":"eA=="}';
    const upload = net.connect(Number(port), '127.0.0.1');
    sockets.push(upload);
    let answer = '';
    upload.setEncoding('utf8');
    upload.on('data', (chunk: string) => {
      answer += chunk;
    });
    await new Promise<void>((resolve) => upload.once('connect', () => resolve()));
    upload.write(
      `POST /channels/slow/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await eventually(() => node!.http.waitingConnections.waiting === 0, 'the upload head read');
    const flood = await halfSent(node.url, 10);
    await eventually(() => flood.closed() >= 6, 'the oldest 6 waiting connections closed');
    assert.equal(node.http.waitingConnections.waiting, 4);
    assert.equal(node.http.waitingConnections.evicted, 6);
    upload.write(body);
    await eventually(() => answer.startsWith('HTTP/1.1 201'), 'the slow upload answered');
  });

  test('a kept-alive connection waits like a new one once its answer is sent', async () => {
    node = await startTestNode({
      http: { waitingConnections: { totalMax: 100, perAddressMax: 2 } },
    });
    const { port } = new URL(node.url);
    const idle = net.connect(Number(port), '127.0.0.1');
    sockets.push(idle);
    let idleClosed = false;
    idle.on('error', () => {});
    idle.once('close', () => {
      idleClosed = true;
    });
    idle.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise<void>((resolve) => idle.once('data', () => resolve()));
    await eventually(
      () => node!.http.waitingConnections.waiting === 1,
      'the idle connection waiting',
    );
    await halfSent(node.url, 2);
    await eventually(() => idleClosed, 'the idle kept-alive connection closed first');
  });
});
