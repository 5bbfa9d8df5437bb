// The Transport contract, run against both implementations: what the replication runtime may rely
// on whichever transport it is given. Peers come up, frames flow by NodeId in order, handlers are
// never called inside send, unsubscribing works, a closed peer goes down and sends then fail.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DropReason, SimNetwork, type Transport } from '../../src/mesh/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { makeCluster, redexFrame, text, transportFor, waitFor } from './helpers.js';

interface Pair {
  readonly a: Transport;
  readonly b: Transport;
  /** Lets time pass until `predicate` holds (virtual or real). */
  until(predicate: () => boolean, what: string): Promise<void>;
  cleanup(): Promise<void>;
}

async function meshPair(): Promise<Pair> {
  const { nodes } = await makeCluster(['a', 'b']);
  const a = transportFor(nodes[0]!);
  const b = transportFor(nodes[1]!);
  b.addPeer(await a.listen());
  return {
    a,
    b,
    until: (predicate, what) => waitFor(predicate, what),
    cleanup: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

async function simPair(): Promise<Pair> {
  const clock = new VirtualClock(0);
  const network = new SimNetwork({ clock, seed: 11 });
  const a = network.addNode(0xaaaan);
  const b = network.addNode(0xbbbbn);
  return {
    a,
    b,
    until: async (predicate, what) => {
      for (let i = 0; i < 10_000 && !predicate(); i++) await clock.advance(1);
      assert.ok(predicate(), `virtual time ran out waiting for ${what}`);
    },
    cleanup: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

for (const [name, make] of [
  ['MeshTransport', meshPair],
  ['SimTransport', simPair],
] as const) {
  describe(`Transport contract: ${name}`, () => {
    it('peers up, ordered frames by NodeId, async handlers, unsubscribe, down on close', async () => {
      const pair = await make();
      const { a, b } = pair;
      try {
        const upsAtA: bigint[] = [];
        a.onPeer((event) => {
          if (event.kind === 'up') upsAtA.push(event.nodeId);
        });
        await pair.until(() => a.isConnected(b.localId) && b.isConnected(a.localId), 'connected');
        await pair.until(() => upsAtA.length === 1, 'the up event');
        assert.deepEqual(upsAtA, [b.localId]);
        assert.deepEqual(a.connectedPeers(), [b.localId]);

        const got: string[] = [];
        let insideSend = false;
        const off = b.onFrame((from, frame) => {
          assert.equal(insideSend, false, 'handler ran inside send');
          assert.equal(from, a.localId);
          got.push(text(frame));
        });
        for (let i = 0; i < 20; i++) {
          insideSend = true;
          assert.equal(a.send(b.localId, redexFrame(`f${i}`)), true);
          insideSend = false;
        }
        await pair.until(() => got.length === 20, 'twenty frames');
        assert.deepEqual(
          got,
          Array.from({ length: 20 }, (_, i) => `f${i}`),
        );
        assert.ok(b.peer(a.localId)!.stats.framesIn >= 20);

        off();
        a.send(b.localId, redexFrame('unheard'));
        await pair.until(() => b.stats().drops[DropReason.NoHandler] === 1, 'a no-handler drop');
        assert.equal(got.length, 20);

        const downs: bigint[] = [];
        a.onPeer((event) => {
          if (event.kind === 'down') downs.push(event.nodeId);
        });
        await b.close();
        await pair.until(() => downs.length === 1, 'the down event');
        assert.equal(a.isConnected(b.localId), false);
        assert.equal(a.send(b.localId, redexFrame('gone')), false);
        assert.equal(b.closed, true);
      } finally {
        await pair.cleanup();
      }
    });
  });
}
