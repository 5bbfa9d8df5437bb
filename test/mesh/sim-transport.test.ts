// SimTransport / SimNetwork in virtual time: delivery and FIFO order, each injected fault (delay,
// loss, duplication, reordering, partition and heal, crash and restart), the Transport contract
// it shares with MeshTransport, and determinism (same seed, same script → same trace).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DropReason,
  MeshError,
  type PeerEvent,
  SimNetwork,
  type SimTraceEntry,
  type SimTransport,
} from '../../src/mesh/index.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import type { NodeId } from '../../src/wire/types.js';
import { redexFrame, text } from './helpers.js';

const A = 0x1111n;
const B = 0x2222n;
const C = 0x3333n;

interface Received {
  readonly atMs: number;
  readonly from: NodeId;
  readonly text: string;
}

function setup(seed: number, faults = {}, ids: NodeId[] = [A, B, C]) {
  const clock = new VirtualClock(0);
  const network = new SimNetwork({ clock, seed, faults, trace: true });
  const nodes = new Map<NodeId, SimTransport>();
  const inbox = new Map<NodeId, Received[]>();
  const peerEvents = new Map<NodeId, PeerEvent[]>();
  const attach = (transport: SimTransport) => {
    nodes.set(transport.localId, transport);
    const received: Received[] = [];
    const events: PeerEvent[] = [];
    inbox.set(transport.localId, received);
    peerEvents.set(transport.localId, events);
    transport.onFrame((from, frame) =>
      received.push({ atMs: clock.nowMs(), from, text: text(frame) }),
    );
    transport.onPeer((event) => events.push(event));
  };
  for (const id of ids) attach(network.addNode(id));
  return { clock, network, nodes, inbox, peerEvents, attach };
}

function sendMany(from: SimTransport, to: NodeId, count: number, prefix = 'm'): void {
  for (let i = 0; i < count; i++) from.send(to, redexFrame(`${prefix}${i}`));
}

describe('SimNetwork: delivery', () => {
  it('connects every pair, delivers after a delay within bounds, in FIFO order', async () => {
    const { clock, network, nodes, inbox, peerEvents } = setup(1, {
      minDelayMs: 5,
      maxDelayMs: 40,
    });
    await clock.advance(0);
    assert.deepEqual(
      peerEvents.get(A)!.map((e) => `${e.kind}:${e.nodeId}`),
      [`up:${B}`, `up:${C}`],
    );
    assert.deepEqual(nodes.get(A)!.connectedPeers(), [B, C]);
    const a = nodes.get(A)!;
    for (let i = 0; i < 200; i++) {
      assert.equal(a.send(B, redexFrame(`m${i}`)), true);
      await clock.advance(1);
    }
    await clock.runAll();
    const got = inbox.get(B)!;
    assert.deepEqual(
      got.map((r) => r.text),
      Array.from({ length: 200 }, (_, i) => `m${i}`),
      'one link keeps order despite delay jitter',
    );
    assert.ok(got.every((r) => r.from === A));
    // Frame i left at time i; it arrives no sooner than 5 ms and no later than 40 ms after
    // (FIFO can only hold it back behind an earlier frame, which itself arrived by then).
    got.forEach((r, i) => {
      assert.ok(r.atMs >= i + 5 && r.atMs <= i + 40, `frame ${i} at ${r.atMs}`);
    });
    assert.equal(network.inFlight, 0);
    const stats = nodes.get(B)!.peer(A)!.stats;
    assert.equal(stats.framesIn, 200);
    assert.equal(nodes.get(A)!.stats().framesOut, 200);
    assert.equal(nodes.get(A)!.peer(B)!.rttMs, 45);
    assert.equal(nodes.get(A)!.peer(B)!.address, `sim://${B.toString(16).padStart(16, '0')}`);
  });

  it('never runs handlers inside send, and counts frames nobody listens for', async () => {
    const clock = new VirtualClock(0);
    const network = new SimNetwork({ clock, seed: 2 });
    const a = network.addNode(A);
    const b = network.addNode(B);
    let delivered = 0;
    b.onFrame(() => delivered++);
    a.send(B, redexFrame('x'));
    assert.equal(delivered, 0);
    await clock.runAll();
    assert.equal(delivered, 1);
    const c = network.addNode(C);
    a.send(C, redexFrame('nobody'));
    await clock.runAll();
    assert.equal(c.stats().drops[DropReason.NoHandler], 1);
  });

  it('refuses what MeshTransport refuses', async () => {
    const { nodes, network } = setup(3);
    const a = nodes.get(A)!;
    assert.throws(() => a.send(B, new Uint8Array([1, 2, 3])), MeshError);
    assert.equal(a.send(0x9999n, redexFrame('unknown')), false);
    assert.equal(a.send(A, redexFrame('self')), false);
    assert.equal(a.stats().drops[DropReason.NoConnection], 2);
    assert.deepEqual(
      a.peers().map((p) => p.nodeId),
      [B, C],
      'unknown ids make no peer entries',
    );
    assert.throws(() => network.addNode(A), MeshError);
    assert.throws(() => network.addNode(0n), MeshError);
    assert.throws(() => network.restart(A), MeshError);
    assert.throws(() => network.crash(0x9999n), MeshError);
    assert.throws(() => network.setFaults({ lossRate: 1.5 }), MeshError);
    assert.throws(() => network.setFaults({ minDelayMs: 10, maxDelayMs: 5 }), MeshError);
    assert.throws(
      () => new SimNetwork({ clock: new VirtualClock(0), seed: 1, faults: { reorderRate: -1 } }),
      MeshError,
    );
    await a.close();
    assert.equal(a.send(B, redexFrame('closed')), false);
    assert.equal(a.stats().drops[DropReason.Closed], 1);
  });
});

describe('SimNetwork: faults', () => {
  it('loss: frames vanish though send reports success', async () => {
    const { clock, network, nodes, inbox } = setup(4, { lossRate: 1 });
    for (let i = 0; i < 10; i++) assert.equal(nodes.get(A)!.send(B, redexFrame('x')), true);
    await clock.runAll();
    assert.equal(inbox.get(B)!.length, 0);
    assert.equal(network.faultStats.lost, 10);

    network.setFaults({ lossRate: 0.3 });
    sendMany(nodes.get(A)!, B, 1000);
    await clock.runAll();
    const got = inbox.get(B)!.length;
    assert.ok(got > 600 && got < 800, `about 70% of 1000 arrive, got ${got}`);
    assert.equal(network.faultStats.lost, 10 + (1000 - got));
  });

  it('duplication: every frame arrives twice at rate 1', async () => {
    const { clock, network, nodes, inbox } = setup(5, { duplicateRate: 1 });
    sendMany(nodes.get(A)!, B, 50);
    await clock.runAll();
    const got = inbox.get(B)!.map((r) => r.text);
    assert.equal(got.length, 100);
    for (let i = 0; i < 50; i++) assert.equal(got.filter((t) => t === `m${i}`).length, 2);
    assert.equal(network.faultStats.duplicated, 50);
  });

  it('reordering: later frames overtake held-back ones', async () => {
    const { clock, network, nodes, inbox } = setup(6, { reorderRate: 0.3, reorderDelayMs: 50 });
    sendMany(nodes.get(A)!, B, 200);
    await clock.runAll();
    const got = inbox.get(B)!.map((r) => Number(r.text.slice(1)));
    assert.equal(got.length, 200, 'nothing lost');
    assert.deepEqual(
      [...got].sort((x, y) => x - y),
      Array.from({ length: 200 }, (_, i) => i),
    );
    const inversions = got.filter((n, i) => i > 0 && n < got[i - 1]!).length;
    assert.ok(inversions > 10, `expected reordering, saw ${inversions} inversions`);
    assert.ok(network.faultStats.reordered > 0);
  });

  it('partition: no traffic across, frames in flight lost, peers down; heal restores', async () => {
    const { clock, network, nodes, inbox, peerEvents } = setup(7, {
      minDelayMs: 10,
      maxDelayMs: 10,
    });
    await clock.advance(0);
    const [a, b, c] = [nodes.get(A)!, nodes.get(B)!, nodes.get(C)!];
    a.send(B, redexFrame('in flight'));
    network.partition([A], [B, C]);
    assert.equal(a.isConnected(B), false);
    assert.equal(a.send(B, redexFrame('blocked')), false);
    assert.equal(a.peer(B)!.stats.drops[DropReason.NoConnection], 1);
    assert.equal(b.send(C, redexFrame('same side')), true);
    await clock.runAll();
    assert.deepEqual(inbox.get(B), [], 'the in-flight frame died with the link');
    assert.deepEqual(
      inbox.get(C)!.map((r) => r.text),
      ['same side'],
    );
    assert.equal(network.faultStats.linkDown, 1);
    assert.deepEqual(
      peerEvents.get(A)!.map((e) => `${e.kind}:${e.nodeId}`),
      [`up:${B}`, `up:${C}`, `down:${B}`, `down:${C}`],
    );
    assert.deepEqual(
      peerEvents
        .get(C)!
        .slice(2)
        .map((e) => `${e.kind}:${e.nodeId}`),
      [`down:${A}`],
    );

    network.heal();
    await clock.advance(0);
    assert.deepEqual(
      peerEvents
        .get(A)!
        .slice(4)
        .map((e) => `${e.kind}:${e.nodeId}`),
      [`up:${B}`, `up:${C}`],
    );
    assert.equal(a.send(B, redexFrame('healed')), true);
    await clock.runAll();
    assert.deepEqual(
      inbox.get(B)!.map((r) => r.text),
      ['healed'],
    );
    network.isolate(C);
    assert.equal(c.connectedPeers().length, 0);
    assert.ok(a.isConnected(B));
  });

  it('crash and restart: the old incarnation goes silent, the new one starts fresh', async () => {
    const { clock, network, nodes, inbox, peerEvents, attach } = setup(8, {
      minDelayMs: 10,
      maxDelayMs: 10,
    });
    await clock.advance(0);
    const a = nodes.get(A)!;
    const oldB = nodes.get(B)!;
    a.send(B, redexFrame('to the old b'));
    network.crash(B);
    assert.equal(oldB.closed, true);
    assert.equal(network.isAlive(B), false);
    assert.equal(oldB.send(A, redexFrame('from the grave')), false);
    await clock.runAll();
    assert.deepEqual(inbox.get(B), [], 'in-flight frames to a crashed node are lost');
    assert.deepEqual(
      peerEvents
        .get(A)!
        .slice(2)
        .map((e) => `${e.kind}:${e.nodeId}`),
      [`down:${B}`],
    );
    const oldInbox = inbox.get(B)!;

    const newB = network.restart(B);
    assert.equal(newB.incarnation, 1);
    assert.equal(network.transport(B), newB);
    attach(newB);
    await clock.advance(0);
    assert.deepEqual(
      peerEvents
        .get(A)!
        .slice(3)
        .map((e) => `${e.kind}:${e.nodeId}`),
      [`up:${B}`],
    );
    assert.deepEqual(
      peerEvents.get(B)!.map((e) => `${e.kind}:${e.nodeId}`),
      [`up:${A}`, `up:${C}`],
      'the restarted node sees its peers come up',
    );
    a.send(B, redexFrame('to the new b'));
    await clock.runAll();
    assert.deepEqual(
      inbox.get(B)!.map((r) => r.text),
      ['to the new b'],
    );
    assert.deepEqual(oldInbox, [], 'the old incarnation never hears anything again');
    assert.equal(newB.stats().framesIn, 1, 'counters start fresh');
  });

  it('a graceful close looks like a crash to the peers, and the node can come back', async () => {
    const { clock, network, nodes, peerEvents } = setup(9, {}, [A, B]);
    await clock.advance(0);
    await nodes.get(B)!.close();
    await clock.advance(0);
    assert.deepEqual(
      peerEvents.get(A)!.map((e) => e.kind),
      ['up', 'down'],
    );
    network.restart(B);
    await clock.advance(0);
    assert.deepEqual(
      peerEvents.get(A)!.map((e) => e.kind),
      ['up', 'down', 'up'],
    );
  });
});

describe('SimNetwork: determinism', () => {
  async function run(seed: number): Promise<SimTraceEntry[]> {
    const { clock, network, nodes } = setup(seed, {
      minDelayMs: 1,
      maxDelayMs: 30,
      lossRate: 0.1,
      duplicateRate: 0.1,
      reorderRate: 0.2,
    });
    const ids = [A, B, C];
    for (let step = 0; step < 300; step++) {
      // The script itself draws from the network's Random, so it is part of the seed's replay.
      const from = ids[network.random.nextInt(3)]!;
      const to = ids[network.random.nextInt(3)]!;
      const sender = network.transport(from);
      if (sender !== undefined && from !== to) sender.send(to, redexFrame(`s${step}`));
      if (step === 100) network.partition([A], [B, C]);
      if (step === 150) network.heal();
      if (step === 200) network.crash(C);
      if (step === 250) network.restart(C);
      await clock.advance(network.random.nextInt(5));
    }
    await clock.runAll();
    assert.ok(nodes.size === 3);
    return network.trace;
  }

  it('replays the same delivery trace for the same seed, a different one for another', async () => {
    const first = await run(42);
    const second = await run(42);
    const other = await run(43);
    assert.ok(first.length > 250, `trace length ${first.length}`);
    assert.deepEqual(second, first);
    assert.notDeepEqual(other, first);
    const events = new Set(first.map((e) => e.event));
    for (const kind of ['send', 'deliver', 'duplicate', 'drop'])
      assert.ok(events.has(kind as never), kind);
  });
});
