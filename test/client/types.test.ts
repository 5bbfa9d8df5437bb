// The client's status types describe what a node really answers: the server's own types must be
// assignable to them (checked by the compiler below), and a status fetched through the client
// from an in-process node equals the service's (so nothing is renamed or lost on the way).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChannelStatus, NodeStatus } from '../../src/client/index.js';
import { RedexClient } from '../../src/client/index.js';
import type {
  ChannelStatus as ServerChannelStatus,
  NodeStatus as ServerNodeStatus,
} from '../../src/node/service.js';
import { memorySpec, startTestNode } from '../node/helpers.js';

// Compile-time: a server status is a client status (tsc fails here if they drift apart).
const asClientStatus = (status: ServerNodeStatus): NodeStatus => status;
const asClientChannel = (channel: ServerChannelStatus): ChannelStatus => channel;

describe('client status types', () => {
  test('a status through the client is the service status', async () => {
    const node = await startTestNode({ channels: [memorySpec('typed/channel')] });
    const client = new RedexClient({ nodes: node.url });
    try {
      const channel = await client.channel('typed/channel');
      assert.deepEqual(
        channel,
        JSON.parse(JSON.stringify(asClientChannel(await node.service.channel('typed/channel')))),
      );
      const status = await client.status();
      const expected = asClientStatus(await node.service.status());
      assert.equal(status.node.name, expected.node.name);
      assert.deepEqual(status.channels, JSON.parse(JSON.stringify(expected.channels)));
      assert.deepEqual(await client.channels(), status.channels);
    } finally {
      await client.close();
      await node.close();
    }
  });
});
