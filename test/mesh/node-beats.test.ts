// Node beats in virtual time over the simulated mesh (docs/DESIGN.md#node-beats): with N idle
// channels, the heartbeats carried and the channel steps per period fall more than tenfold; the
// channels a SIGKILLed node led fail over as fast as without node beats; a changed heartbeat
// (tail, commit) still reaches the peer at the next beat; a peer that sends no node beats still
// gets every heartbeat; a channel closed on its leader's node is noticed within the refresh
// bound and the silence window.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redex } from '../../src/log/index.js';
import { MeshNode, SimNetwork } from '../../src/mesh/index.js';
import { enableReplication, replicatorOf } from '../../src/replication/index.js';
import { BEAT_COVER_PERIODS } from '../../src/replication/node-beats.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';

const IDS: readonly NodeId[] = [0x0a0an, 0x0b0bn, 0x0c0cn];
const HEARTBEAT_MS = 100;
const SILENCE_MS = 3 * HEARTBEAT_MS;
const CHANNELS = 24;
const NAMES = Array.from({ length: CHANNELS }, (_, i) => `beats/c${i}`);
const REPLICATION = { factor: 3, heartbeatMs: HEARTBEAT_MS };

type Cluster = Awaited<ReturnType<typeof start>>;
const open: Array<{ close(): Promise<void> }> = [];

/**
 * Three nodes; `beats[i]` says whether node i sends node beats. Every channel settled. The last
 * node opens its channels `lateMs` after the others (a node slow to open thousands).
 */
async function start(beats: readonly boolean[], seed = 7, lateMs = 0) {
  const clock = new VirtualClock(1_764_115_200_000);
  const network = new SimNetwork({ clock, seed, faults: { minDelayMs: 1, maxDelayMs: 2 } });
  const random = new SeededRandom(seed);
  const nodes = IDS.map((id, index) => {
    const transport = network.addNode(id);
    const mesh = new MeshNode({
      transport,
      members: IDS,
      clock,
      nodeBeats: beats[index] ?? true,
    });
    const redex = new Redex({ clock, random: random.fork() });
    enableReplication(redex, mesh, { testOnlyHeartbeatMsMin: 1 });
    return { id, mesh, redex, transport, up: true };
  });
  const channel = (node: number, name: string) => {
    const found = replicatorOf(nodes[node]!.redex)?.channel(name);
    assert.ok(found !== undefined);
    return found;
  };
  const runtime = (node: number, name: string) => {
    const handle = channel(node, name).handle;
    assert.ok(handle !== undefined && handle !== null);
    return handle.runtime;
  };
  /** The agreed leader's index among `among`, or -1. */
  const agreedLeader = (name: string, among: readonly number[]) => {
    const leaders = among.filter((i) => channel(i, name).role === Role.Leader);
    if (leaders.length !== 1) return -1;
    const leader = leaders[0]!;
    const follow = among.every((i) => i === leader || channel(i, name).leader === IDS[leader]);
    return follow ? leader : -1;
  };
  const until = async (done: () => boolean, maxMs: number, what: string) => {
    const startMs = clock.nowMs();
    while (!done()) {
      assert.ok(clock.nowMs() - startMs < maxMs, what);
      await clock.advance(1);
    }
    return clock.nowMs() - startMs;
  };
  /** Per node: channel steps run (full ticks and inbound heartbeats) and heartbeats queued. */
  const counts = () =>
    nodes.map((node, index) => {
      let steps = 0;
      let heartbeatsIn = 0;
      for (const name of NAMES) {
        const stats = runtime(index, name).stats;
        steps += stats.ticks - stats.quietTicks + stats.heartbeatsIn;
        heartbeatsIn += stats.heartbeatsIn;
      }
      const sent = node.mesh.heartbeatStats();
      return {
        steps,
        heartbeatsIn,
        heartbeats: sent.heartbeatsQueued,
        frames: sent.heartbeatFrames + sent.nodeBeats,
      };
    });
  for (const [index, node] of nodes.entries()) {
    if (index === nodes.length - 1 && lateMs > 0) {
      // One channel open from the start, so the late node beats (its tick grid runs) meanwhile.
      for (const other of nodes)
        await other.redex.openFile('beats/early', { replication: REPLICATION });
      await clock.advance(lateMs);
    }
    for (const name of NAMES) await node.redex.openFile(name, { replication: REPLICATION });
  }
  await until(
    () => NAMES.every((n) => agreedLeader(n, [0, 1, 2]) >= 0),
    30 * HEARTBEAT_MS,
    'settle',
  );
  const cluster = {
    clock,
    network,
    nodes,
    channel,
    runtime,
    agreedLeader,
    until,
    counts,
    async close() {
      for (const node of nodes) {
        if (node.up) await node.redex.close().catch(() => {});
        await node.mesh.close();
      }
    },
  };
  open.push(cluster);
  return cluster;
}

/** Per-node deltas of `counts` over `periods` idle periods. */
async function idle(cluster: Cluster, periods: number) {
  const before = cluster.counts();
  await cluster.clock.advance(periods * HEARTBEAT_MS);
  return cluster.counts().map((now, i) => ({
    steps: now.steps - before[i]!.steps,
    heartbeatsIn: now.heartbeatsIn - before[i]!.heartbeatsIn,
    heartbeats: now.heartbeats - before[i]!.heartbeats,
    frames: now.frames - before[i]!.frames,
  }));
}

after(async () => {
  for (const cluster of open.splice(0)) await cluster.close();
});

describe('node beats', { timeout: 120_000 }, () => {
  it('idle channels: heartbeats and channel steps per period fall more than tenfold', async () => {
    const on = await start([true, true, true]);
    const off = await start([false, false, false]);
    // Past the first refresh of every channel, so the window sees the steady state.
    await on.clock.advance(25 * HEARTBEAT_MS);
    await off.clock.advance(25 * HEARTBEAT_MS);
    const periods = 60;
    const withBeats = await idle(on, periods);
    const without = await idle(off, periods);
    console.log(JSON.stringify({ periods, channels: CHANNELS, withBeats, without }));
    for (const [i, beat] of withBeats.entries()) {
      const plain = without[i]!;
      // Without: every channel ticks and hears two heartbeats each period.
      assert.ok(plain.steps >= 3 * CHANNELS * (periods - 1), `node ${i}: steps without`);
      assert.ok(beat.steps * 10 <= plain.steps, `node ${i}: steps ${beat.steps} vs ${plain.steps}`);
      assert.ok(beat.heartbeats * 10 <= plain.heartbeats, `node ${i}: heartbeats sent`);
      // The node beat still leaves every period, to each peer.
      assert.ok(beat.frames >= 2 * (periods - 1), `node ${i}: node beats`);
    }
    // Nothing was elected meanwhile.
    for (const name of NAMES) assert.ok(on.agreedLeader(name, [0, 1, 2]) >= 0, name);
  });

  it('a killed leader node: every channel it led has a new leader within the silence window and a period', async () => {
    const cluster = await start([true, true, true], 11);
    await cluster.clock.advance(30 * HEARTBEAT_MS);
    const led = NAMES.filter((n) => cluster.channel(0, n).role === Role.Leader);
    assert.ok(led.length > 0, 'node 0 leads nothing');
    cluster.network.crash(IDS[0]!);
    cluster.nodes[0]!.up = false;
    const failoverMs = await cluster.until(
      () => led.every((n) => cluster.agreedLeader(n, [1, 2]) >= 0),
      20 * HEARTBEAT_MS,
      'no failover',
    );
    console.log(JSON.stringify({ failoverMs, channels: led.length }));
    assert.ok(failoverMs <= SILENCE_MS + HEARTBEAT_MS + 20, `failover took ${failoverMs} ms`);
  });

  it('a changed tail and commit reach the peers at the next beat', async () => {
    const cluster = await start([true, true, true], 13);
    await cluster.clock.advance(30 * HEARTBEAT_MS);
    const name = NAMES[0]!;
    const leader = cluster.agreedLeader(name, [0, 1, 2]);
    const replicas = [0, 1, 2].filter((i) => i !== leader);
    const file = await cluster.nodes[leader]!.redex.openFile(name, { replication: REPLICATION });
    // Acknowledged once a replica holds it: resolved while the clock advances below.
    const appended = file.append(new TextEncoder().encode('news'));
    const tail = file.nextSeq;
    const leaderRuntime = cluster.runtime(leader, name);
    // Each replica's new tail is on the leader, and the leader's commit on each replica, within
    // a period and a few round trips: not at the next refresh.
    await cluster.until(
      () =>
        replicas.every(
          (r) =>
            leaderRuntime.tracker.peer(IDS[r]!)?.tailSeq === tail &&
            cluster.runtime(r, name).commitSeq === tail,
        ),
      HEARTBEAT_MS + 20,
      'the change did not travel',
    );
    assert.equal(await appended, tail - 1);
  });

  it('a peer that sends no node beats still gets every heartbeat', async () => {
    const cluster = await start([true, true, false], 17);
    await cluster.clock.advance(30 * HEARTBEAT_MS);
    const periods = 20;
    const before = NAMES.map((n) => cluster.runtime(2, n).stats.heartbeatsIn);
    await cluster.clock.advance(periods * HEARTBEAT_MS);
    for (const [i, name] of NAMES.entries()) {
      const heard = cluster.runtime(2, name).stats.heartbeatsIn - before[i]!;
      // From both peers, every period.
      assert.ok(heard >= 2 * (periods - 1), `${name}: ${heard} heartbeats`);
    }
    // Between the two nodes that beat, heartbeats are still left out.
    const quiet = NAMES.reduce(
      (sum, n) => sum + cluster.runtime(0, n).stats.heartbeatsSuppressed,
      0,
    );
    assert.ok(quiet > 0, 'node 0 suppressed nothing toward node 1');
  });

  it('channels a peer opens late settle within a few periods of its open, not at the refresh', async () => {
    // The first two nodes' heartbeats for these channels reach the third before it opens them
    // (dropped there); identical ones must not be left out until it was heard from.
    const lateMs = 12 * HEARTBEAT_MS + 37;
    const cluster = await start([true, true, true], 29, lateMs);
    const settledAfterOpen = cluster.clock.nowMs() - (1_764_115_200_000 + lateMs);
    console.log(JSON.stringify({ settledAfterOpen }));
    assert.ok(
      settledAfterOpen <= 6 * HEARTBEAT_MS,
      `settled ${settledAfterOpen} ms after the open`,
    );
    // Every channel's runtime on the late node heard both peers.
    for (const name of NAMES) {
      const tracker = cluster.runtime(2, name).tracker;
      assert.ok(tracker.peer(IDS[0]!) !== undefined && tracker.peer(IDS[1]!) !== undefined, name);
    }
  });

  it('a malformed node beat is counted and changes nothing', async () => {
    const cluster = await start([true, true, true], 23);
    const before = cluster.nodes[0]!.mesh.nodeBeatStats();
    assert.ok(before.beatsIn > 0);
    cluster.nodes[1]!.transport.send(IDS[0]!, new Uint8Array([0x00, 0x0e, 0x29, 0x07]));
    await cluster.clock.advance(10);
    const after = cluster.nodes[0]!.mesh.nodeBeatStats();
    assert.equal(after.malformed, 1);
    assert.equal(cluster.nodes[0]!.mesh.stats().drops.malformed, 0);
    await cluster.clock.advance(20 * HEARTBEAT_MS);
    for (const name of NAMES) assert.ok(cluster.agreedLeader(name, [0, 1, 2]) >= 0, name);
  });

  it('a channel closed on its leader node is noticed within the refresh bound and the silence window', async () => {
    const cluster = await start([true, true, true], 19);
    await cluster.clock.advance(30 * HEARTBEAT_MS);
    const name = NAMES.find((n) => cluster.agreedLeader(n, [0, 1, 2]) === 0);
    assert.ok(name !== undefined, 'node 0 leads nothing');
    await cluster.nodes[0]!.redex.closeFile(name);
    const tookMs = await cluster.until(
      () => cluster.agreedLeader(name, [1, 2]) >= 0,
      (BEAT_COVER_PERIODS + 10) * HEARTBEAT_MS,
      'the closed channel was never noticed',
    );
    console.log(JSON.stringify({ closedNoticedMs: tookMs }));
    assert.ok(
      tookMs <= (BEAT_COVER_PERIODS + 3 + 1) * HEARTBEAT_MS + 50,
      `noticed after ${tookMs} ms`,
    );
  });
});
