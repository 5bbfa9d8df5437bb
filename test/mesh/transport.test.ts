// MeshTransport on real sockets (127.0.0.1, ephemeral ports): frames both ways, RTT, three-node
// mesh, reconnect after a restart, simultaneous dials ending in one connection per pair, batching,
// backpressure, options validation. Every wait is on a condition, with a hang guard.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  DropReason,
  encodeControl,
  encodeFrame,
  MeshControl,
  MeshError,
  MeshTransport,
  type PeerEvent,
  type Transport,
} from '../../src/mesh/index.js';
import {
  allocateWithHeadroom,
  HEADROOM_FROM_BYTES,
  hasFrameHeadroom,
  pooledFrameBuffers,
} from '../../src/wire/headroom.js';
import {
  collectFrames,
  makeCluster,
  nextPeerEvent,
  RawClient,
  RawServer,
  redexFrame,
  type TestNode,
  text,
  transportFor,
  waitFor,
} from './helpers.js';

let nodes: TestNode[];
const open: MeshTransport[] = [];

function track(transport: MeshTransport): MeshTransport {
  open.push(transport);
  return transport;
}

function events(transport: Transport): PeerEvent[] {
  const seen: PeerEvent[] = [];
  transport.onPeer((event) => seen.push(event));
  return seen;
}

before(async () => {
  ({ nodes } = await makeCluster(['node-a', 'node-b', 'node-c']));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

after(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

describe('MeshTransport: two nodes', () => {
  it('exchanges frames both ways, identified by certificate, with counters and RTT', async () => {
    const [a, b] = [track(transportFor(nodes[0]!)), track(transportFor(nodes[1]!))];
    const addressA = await a.listen();
    assert.ok(addressA.port > 0, 'port 0 resolves to the real ephemeral port');
    assert.deepEqual(a.address, addressA);
    const inA = collectFrames(a);
    const inB = collectFrames(b);
    const upAtA = nextPeerEvent(a, 'up');
    const upAtB = nextPeerEvent(b, 'up');
    b.addPeer(addressA);
    assert.equal((await upAtA).nodeId, b.localId, 'A learns B from its certificate');
    assert.equal((await upAtB).nodeId, a.localId);
    assert.deepEqual(a.connectedPeers(), [b.localId]);

    for (let i = 0; i < 100; i++) assert.equal(b.send(a.localId, redexFrame(`b${i}`)), true);
    assert.equal(a.send(b.localId, redexFrame('hello b')), true);
    await waitFor(() => inA.length === 100 && inB.length === 1, 'frames');
    assert.deepEqual(
      inA.map((f) => text(f.frame)),
      Array.from({ length: 100 }, (_, i) => `b${i}`),
      'in order',
    );
    assert.ok(inA.every((f) => f.from === b.localId));
    assert.equal(inB[0]!.from, a.localId);
    assert.equal(text(inB[0]!.frame), 'hello b');

    await waitFor(
      () => a.peer(b.localId)?.rttMs != null && b.peer(a.localId)?.rttMs != null,
      'RTT',
    );
    const peerB = a.peer(b.localId)!;
    assert.ok(peerB.rttMs! >= 0 && peerB.rttMs! < 5_000);
    assert.ok(peerB.rttSmoothedMs !== null);
    assert.ok(peerB.stats.pingsOut >= 1 && peerB.stats.pongsIn >= 1);
    const peerA = b.peer(a.localId)!;
    assert.equal(peerA.address, `127.0.0.1:${addressA.port}`);
    assert.ok(peerA.stats.framesOut >= 100, 'replication frames plus pings/pongs');
    assert.ok(peerB.stats.framesIn >= 100);
    const bytesForFrames = inA.reduce((n, f) => n + 4 + f.frame.length, 0);
    assert.ok(peerB.stats.bytesIn >= bytesForFrames);
    assert.deepEqual(
      Object.entries(peerB.stats.drops).filter(([, n]) => n > 0),
      [],
      'nothing dropped on a healthy link',
    );
    assert.equal(a.stats().connectionsAccepted, 1);
    assert.equal(b.stats().connectionsDialed, 1);
  });

  it('reports the peer down when it closes, and close() is idempotent', async () => {
    const [a, b] = [track(transportFor(nodes[0]!)), track(transportFor(nodes[1]!))];
    const seenA = events(a);
    b.addPeer(await a.listen());
    await waitFor(() => a.isConnected(b.localId), 'connection');
    const down = nextPeerEvent(a, 'down', b.localId);
    const closing = b.close();
    assert.equal(b.close(), closing);
    await closing;
    assert.equal(b.closed, true);
    await down;
    assert.deepEqual(
      seenA.map((e) => e.kind),
      ['up', 'down'],
    );
    assert.equal(a.isConnected(b.localId), false);
    assert.equal(a.send(b.localId, redexFrame('late')), false);
    assert.equal(a.peer(b.localId)!.stats.drops[DropReason.NoConnection], 1);
    assert.equal(b.send(a.localId, redexFrame('after close')), false);
    assert.equal(b.stats().drops[DropReason.Closed], 1);
    assert.throws(() => b.addPeer({ host: '127.0.0.1', port: 1 }), MeshError);
    await assert.rejects(b.listen(), MeshError);
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const a = track(transportFor(nodes[0]!));
    let b = track(transportFor(nodes[1]!));
    const addressB = await b.listen();
    const inB1 = collectFrames(b);
    a.addPeer(addressB);
    await waitFor(() => a.isConnected(b.localId), 'first connection');
    a.send(b.localId, redexFrame('one'));
    await waitFor(() => inB1.length === 1, 'frame before restart');

    const down = nextPeerEvent(a, 'down', b.localId);
    await b.close();
    await down;
    const up = nextPeerEvent(a, 'up', b.localId);
    b = track(transportFor(nodes[1]!, { listenPort: addressB.port }));
    await b.listen();
    const inB2 = collectFrames(b);
    await up;
    assert.equal(a.send(b.localId, redexFrame('two')), true);
    await waitFor(() => inB2.length === 1, 'frame after restart');
    assert.equal(text(inB2[0]!.frame), 'two');
    const peer = a.peer(b.localId)!;
    assert.equal(peer.stats.ups, 2);
    assert.equal(peer.stats.downs, 1);
  });

  it('keeps redialing with backoff while the peer is away, then connects', async () => {
    const a = track(transportFor(nodes[0]!, { reconnectBaseMs: 5, reconnectMaxMs: 20 }));
    // Reserve a port, free it, and dial it while nothing listens there.
    const probe = track(transportFor(nodes[1]!));
    const { port } = await probe.listen();
    await probe.close();
    a.addPeer({ host: '127.0.0.1', port, nodeId: nodes[1]!.nodeId });
    await waitFor(() => a.stats().dialFailures >= 3, 'several refused dials');
    const b = track(transportFor(nodes[1]!, { listenPort: port }));
    const up = nextPeerEvent(a, 'up', b.localId);
    await b.listen();
    await up;
    assert.ok(a.isConnected(b.localId));
  });

  it('coalesces frames sent in one turn into one socket write', async () => {
    const [a, b] = [track(transportFor(nodes[0]!)), track(transportFor(nodes[1]!))];
    const inA = collectFrames(a);
    b.addPeer(await a.listen());
    await waitFor(() => b.isConnected(a.localId), 'connection');
    const before = b.stats().writeBatches;
    for (let i = 0; i < 500; i++) b.send(a.localId, redexFrame(`f${i}`));
    await waitFor(() => inA.length === 500, '500 frames');
    // Pings may add a batch of their own; 500 frames alone would be 500 writes unbatched.
    const batches = b.stats().writeBatches - before;
    assert.ok(batches >= 1 && batches <= 3, `500 frames in ${batches} writes`);
  });

  it('writes large bodies with headroom alone and in order, then releases their memory', async () => {
    const [a, b] = [track(transportFor(nodes[0]!)), track(transportFor(nodes[1]!))];
    const inA = collectFrames(a);
    b.addPeer(await a.listen());
    await waitFor(() => b.isConnected(a.localId), 'connection');
    while (pooledFrameBuffers() > 0) allocateWithHeadroom(HEADROOM_FROM_BYTES + 1);
    // Small frames around large ones, all in one turn: the large ones go in writes of their
    // own (one write at a time), and nothing may be reordered.
    const large = (i: number) => {
      const body = allocateWithHeadroom(300_000 + i);
      body.fill(i + 1);
      body.set(redexFrame(`big${i}`).subarray(0, 6));
      return body;
    };
    const sent: Uint8Array[] = [];
    const before = b.stats().writeBatches;
    for (let i = 0; i < 3; i++) {
      sent.push(redexFrame(`s${i}`), large(i), redexFrame(`t${i}`));
    }
    const copies = sent.map((body) => body.slice());
    for (const body of sent) assert.ok(b.send(a.localId, body));
    await waitFor(() => inA.length === sent.length, `${sent.length} frames`);
    assert.deepEqual(
      inA.map((f) => Buffer.from(f.frame)),
      copies.map((c) => Buffer.from(c)),
    );
    // s0 · big0 · t0+s1 · big1 · t1+s2 · big2 · t2: seven writes (pings may add some).
    const batches = b.stats().writeBatches - before;
    assert.ok(batches >= 7 && batches <= 9, `${batches} writes`);
    await waitFor(() => pooledFrameBuffers() === 3, 'the three large buffers released');
    assert.ok(
      sent.every((body) => !hasFrameHeadroom(body)),
      'released bodies are not reused',
    );
  });

  it('drops with backpressure past the pending write limit, counted per peer', async () => {
    const options = { frameBodyBytesLimit: 1024, pendingWriteBytesLimit: 4096 };
    const [a, b] = [
      track(transportFor(nodes[0]!, options)),
      track(transportFor(nodes[1]!, options)),
    ];
    b.addPeer(await a.listen());
    await waitFor(() => b.isConnected(a.localId), 'connection');
    const frame = redexFrame(new Uint8Array(1000));
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (b.send(a.localId, frame)) accepted++;
    assert.ok(accepted >= 1 && accepted <= 4, `accepted ${accepted}`);
    assert.equal(b.peer(a.localId)!.stats.drops[DropReason.Backpressure], 10 - accepted);
    assert.throws(() => b.send(a.localId, redexFrame(new Uint8Array(1022))), /BAD_FRAME|exceeds/);
  });
});

describe('MeshTransport: three nodes', () => {
  it('forms a full mesh with one connection per pair and routes by NodeId', async () => {
    const ts = nodes.map((n) => track(transportFor(n)));
    const addresses = await Promise.all(ts.map((t) => t.listen()));
    const inboxes = ts.map(collectFrames);
    // Every node dials every other: each pair sees a simultaneous dial.
    for (const t of ts)
      for (const address of addresses) if (address !== t.address) t.addPeer(address);
    await waitFor(
      () => ts.every((t) => t.connectedPeers().length === 2 && t.connectionCount === 2),
      'full mesh with retired duplicates gone',
    );
    for (const from of ts) {
      for (const to of ts) {
        if (from !== to)
          assert.equal(from.send(to.localId, redexFrame(`${from.localId}>${to.localId}`)), true);
      }
    }
    await waitFor(() => inboxes.every((inbox) => inbox.length === 2), 'two frames per node');
    ts.forEach((to, i) => {
      for (const { from, frame } of inboxes[i]!) assert.equal(text(frame), `${from}>${to.localId}`);
    });
    await waitFor(
      () => ts.every((t) => t.peers().every((p) => p.rttMs !== null)),
      'RTT to every peer',
    );
  });
});

describe('MeshTransport: simultaneous dial', () => {
  it('ends with exactly one connection per pair, dialed by the lower NodeId, no flapping', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = [track(transportFor(nodes[0]!)), track(transportFor(nodes[1]!))];
      const [addressA, addressB] = await Promise.all([a.listen(), b.listen()]);
      const seenA = events(a);
      const seenB = events(b);
      a.addPeer(addressB);
      b.addPeer(addressA);
      await waitFor(
        () =>
          a.isConnected(b.localId) &&
          b.isConnected(a.localId) &&
          a.connectionCount === 1 &&
          b.connectionCount === 1,
        'one connection each side',
      );
      const infoA = a.connectionInfo(b.localId)!;
      const infoB = b.connectionInfo(a.localId)!;
      assert.equal(infoA.localPort, infoB.remotePort, 'both ends use the same TCP connection');
      assert.equal(infoA.remotePort, infoB.localPort);
      const lower = a.localId < b.localId ? a : b;
      const lowerInfo = lower === a ? infoA : infoB;
      assert.equal(lowerInfo.direction, 'dialed', 'the lower NodeId dialed the survivor');
      assert.ok(a.stats().duplicatesClosed + b.stats().duplicatesClosed >= 2);
      assert.deepEqual(
        seenA.map((e) => e.kind),
        ['up'],
        `round ${round}: A saw one up, no down`,
      );
      assert.deepEqual(
        seenB.map((e) => e.kind),
        ['up'],
        `round ${round}: B saw one up, no down`,
      );
      // The surviving connection carries frames both ways.
      const inA = collectFrames(a);
      b.send(a.localId, redexFrame('after race'));
      await waitFor(() => inA.length === 1, 'frame over the survivor');
      await Promise.all(open.splice(0).map((t) => t.close()));
    }
  });
});

describe('MeshTransport: replacing a connection', () => {
  // Scenario: A's connection to B (accepted from B) closes while A's own dial to B has passed TLS
  // but is not yet confirmed. The down event is held: if the dial confirms, the peer never looked
  // down; if it fails, the down is reported then. B is played by a raw client and a raw server.
  async function setupPending() {
    const a = track(transportFor(nodes[0]!));
    const { port } = await a.listen();
    const seen = events(a);
    const rawServer = new RawServer(nodes[1]!.credentials);
    const rawPort = await rawServer.listen();
    const client = new RawClient(port, nodes[1]!.credentials);
    await client.confirmed();
    await waitFor(() => a.isConnected(nodes[1]!.nodeId), 'B up through its own dial');
    a.addPeer({ host: '127.0.0.1', port: rawPort }); // no NodeId pinned: A must dial to learn it
    await waitFor(
      () => a.connections().some((c) => c.direction === 'dialed' && c.state === 'confirming'),
      "A's dial waiting for confirmation",
    );
    client.destroy();
    await waitFor(() => a.connections().length === 1, 'the old connection gone');
    assert.equal(a.isConnected(nodes[1]!.nodeId), false, 'no connection to send on meanwhile');
    assert.deepEqual(
      seen.map((e) => e.kind),
      ['up'],
      'down held while a replacement is pending',
    );
    return { a, seen, rawServer };
  }

  it('swaps silently when the pending dial confirms', async () => {
    const { a, seen, rawServer } = await setupPending();
    rawServer.sockets[0]!.write(encodeFrame(encodeControl(MeshControl.Ping, 1n)));
    await waitFor(() => a.isConnected(nodes[1]!.nodeId), 'the replacement in use');
    assert.deepEqual(
      seen.map((e) => e.kind),
      ['up'],
    );
    assert.equal(a.connectionInfo(nodes[1]!.nodeId)?.direction, 'dialed');
    await rawServer.close();
  });

  it('reports the held down when the pending dial fails', async () => {
    const { seen, rawServer } = await setupPending();
    await rawServer.close();
    await waitFor(() => seen.length === 2, 'the down event');
    assert.deepEqual(
      seen.map((e) => e.kind),
      ['up', 'down'],
    );
  });
});

describe('MeshTransport: options', () => {
  it('validates every option with a MESH_CONFIG error naming it', () => {
    const credentials = nodes[0]!.credentials;
    const bad: Array<[string, Record<string, unknown>]> = [
      ['pingIntervalMs', { pingIntervalMs: 0 }],
      ['idleTimeoutMs', { pingIntervalMs: 100, idleTimeoutMs: 150 }],
      ['handshakeTimeoutMs', { handshakeTimeoutMs: 1.5 }],
      ['reconnectBaseMs', { reconnectBaseMs: 0 }],
      ['reconnectMaxMs', { reconnectBaseMs: 100, reconnectMaxMs: 50 }],
      ['reconnectMaxMs', { reconnectMaxMs: 10_000_000 }],
      ['frameBodyBytesLimit', { frameBodyBytesLimit: 2 ** 32 }],
      ['pendingWriteBytesLimit', { frameBodyBytesLimit: 1000, pendingWriteBytesLimit: 1000 }],
      ['listenPort', { listenPort: 70_000 }],
      ['listenHost', { listenHost: '' }],
      ['acceptPeer', { acceptPeer: 3 }],
    ];
    for (const [field, options] of bad) {
      assert.throws(
        () => new MeshTransport({ credentials, ...options }),
        (error: unknown) =>
          error instanceof MeshError &&
          error.code === 'CONFIG' &&
          error.reason === 'MESH_CONFIG' &&
          error.message.includes(field),
        field,
      );
    }
    assert.throws(
      () => new MeshTransport({ credentials: { ...credentials, keyPem: 'x' } }),
      MeshError,
    );
  });

  it('refuses bad sends and bad addresses as caller errors', () => {
    const a = track(transportFor(nodes[0]!));
    for (const frame of [new Uint8Array([0x00, 0x0e]), new Uint8Array([0x00, 0xfe, 1]), 'x']) {
      assert.throws(
        () => a.send(nodes[1]!.nodeId, frame as Uint8Array),
        (e: unknown) => e instanceof MeshError && e.reason === 'BAD_FRAME',
      );
    }
    assert.equal(a.send(nodes[1]!.nodeId, redexFrame('nobody')), false);
    assert.equal(a.stats().drops[DropReason.NoConnection], 1);
    assert.throws(() => a.addPeer({ host: '127.0.0.1', port: 0 }), MeshError);
    assert.throws(() => a.addPeer({ host: '', port: 1 }), MeshError);
    assert.throws(() => a.addPeer({ host: 'h', port: 1, nodeId: 0n }), MeshError);
    assert.throws(() => a.onFrame(3 as unknown as () => void), MeshError);
  });
});
