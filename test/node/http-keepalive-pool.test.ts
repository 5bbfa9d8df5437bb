// Finding (bench:daemon): a client pool of 64 kept-alive connections from one address lost
// connections under it ("other side closed"): between two requests an idle pooled connection
// counts as waiting for a request head, and the per-address bound (32) closed the oldest ones
// while the client was sending on them. The bound now sits above such a pool.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Pool } from 'undici';
import { HTTP_WAITING_PER_ADDRESS_MAX } from '../../src/node/http/limits.js';
import { memorySpec, startTestNode, type TestNode } from './helpers.js';

const POOL_CONNECTIONS = 64;
let node: TestNode | null = null;
let pool: Pool | null = null;

afterEach(async () => {
  await pool?.close();
  pool = null;
  await node?.close();
  node = null;
});

describe('a keep-alive client pool', () => {
  test('64 connections from one address, all idle between rounds, are all kept', async () => {
    assert.ok(HTTP_WAITING_PER_ADDRESS_MAX > POOL_CONNECTIONS);
    node = await startTestNode({ channels: [memorySpec('pool')] });
    pool = new Pool(node.url, { connections: POOL_CONNECTIONS, pipelining: 1 });
    const client = pool;
    const round = () =>
      Promise.all(
        Array.from({ length: POOL_CONNECTIONS }, async () => {
          const response = await client.request({
            path: '/channels/pool/events',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"payload":"eA=="}',
          });
          await response.body.text();
          return response.statusCode;
        }),
      );
    for (let i = 0; i < 3; i++) {
      const statuses = await round();
      assert.deepEqual(new Set(statuses), new Set([201]));
    }
    assert.equal(node.http.waitingConnections.evicted, 0);
  });
});
