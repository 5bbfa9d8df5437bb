// Coalesced heartbeats (one tick grid per node, heartbeats batched per peer) change no timing
// that matters, in virtual time over the simulated mesh, compared with the same cluster ticking
// one timer per channel: channels opened at scattered moments on each node elect their first
// leader in one vote each and as fast, the channels of a SIGKILLed node fail over within a
// silence window and a period, and a quorum append is acknowledged as fast.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redex } from '../../src/log/index.js';
import { MeshNode, SimNetwork } from '../../src/mesh/index.js';
import { enableReplication, replicatorOf } from '../../src/replication/index.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { type NodeId, Role } from '../../src/wire/types.js';

const IDS: readonly NodeId[] = [0x0a0an, 0x0b0bn, 0x0c0cn];
const HEARTBEAT_MS = 100;
const SILENCE_MS = 3 * HEARTBEAT_MS;
const CHANNELS = 12;
const NAMES = Array.from({ length: CHANNELS }, (_, i) => `timing/c${i}`);

interface Outcome {
  /** From the last open until every channel has one leader the others follow. */
  settleMs: number;
  preVotes: number;
  elections: number;
  lost: number;
  /** Slowest channel of the crashed node to get a new agreed leader. */
  failoverMs: number;
  failedOver: number;
  /** Virtual ms until a quorum append on a leader resolved. */
  ackMs: number;
}

async function run(coalesceHeartbeats: boolean, seed: number): Promise<Outcome> {
  const clock = new VirtualClock(1_764_115_200_000);
  const network = new SimNetwork({ clock, seed, faults: { minDelayMs: 1, maxDelayMs: 2 } });
  const random = new SeededRandom(seed);
  const nodes = IDS.map((id) => {
    const mesh = new MeshNode({
      transport: network.addNode(id),
      members: IDS,
      clock,
      coalesceHeartbeats,
      // Coalescing alone (node-beats.test.ts times failover with node beats).
      nodeBeats: false,
    });
    const redex = new Redex({ clock, random: random.fork() });
    enableReplication(redex, mesh, { testOnlyHeartbeatMsMin: 1 });
    return { id, mesh, redex };
  });
  const channel = (node: number, name: string) => {
    const found = replicatorOf(nodes[node]!.redex)?.channel(name);
    assert.ok(found !== undefined);
    return found;
  };
  /** The agreed leader's index among `among`, or -1. */
  const agreedLeader = (name: string, among: readonly number[]) => {
    const leaders = among.filter((i) => channel(i, name).role === Role.Leader);
    if (leaders.length !== 1) return -1;
    const leader = leaders[0]!;
    const follow = among.every((i) => i === leader || channel(i, name).leader === IDS[leader]);
    return follow ? leader : -1;
  };
  try {
    // Every node opens every channel at its own moment within three periods: the nodes' grids
    // start at different phases, and a channel's members start their silence windows apart.
    const start = clock.nowMs();
    const opens = nodes.flatMap((node) =>
      NAMES.map((name) => ({ atMs: random.nextInt(3 * HEARTBEAT_MS), node, name })),
    );
    opens.sort((a, b) => a.atMs - b.atMs);
    const replication = { factor: 3, heartbeatMs: HEARTBEAT_MS };
    for (const open of opens) {
      await clock.advance(Math.max(0, start + open.atMs - clock.nowMs()));
      await open.node.redex.openFile(open.name, { replication });
    }
    const opened = clock.nowMs();
    const all = [0, 1, 2];
    while (!NAMES.every((name) => agreedLeader(name, all) >= 0)) {
      assert.ok(clock.nowMs() - opened < 20 * HEARTBEAT_MS, 'not settled');
      await clock.advance(1);
    }
    const settleMs = clock.nowMs() - opened;
    let preVotes = 0;
    let elections = 0;
    let lost = 0;
    for (const index of all) {
      for (const name of NAMES) {
        const counters = channel(index, name).handle!.runtime.quorum.counters;
        preVotes += counters.preVotesStarted;
        elections += counters.electionsStarted;
        lost += counters.electionsLost;
      }
    }

    // A quorum append on a leader, acknowledged once a replica holds it.
    await clock.advance(10 * HEARTBEAT_MS);
    const name = NAMES[0]!;
    const leader = agreedLeader(name, all);
    const file = await nodes[leader]!.redex.openFile(name, { replication });
    let acked = false;
    const appendedAt = clock.nowMs();
    const append = file.append(new TextEncoder().encode('ack me')).then(() => {
      acked = true;
    });
    while (!acked) {
      assert.ok(clock.nowMs() - appendedAt < HEARTBEAT_MS, 'append not acknowledged');
      await clock.advance(1);
    }
    await append;
    const ackMs = clock.nowMs() - appendedAt;

    // Node 0 dies: every channel it led gets a new leader on the two others.
    const led = NAMES.filter((n) => channel(0, n).role === Role.Leader);
    network.crash(IDS[0]!);
    const crashedAt = clock.nowMs();
    const pending = new Set(led);
    let failoverMs = 0;
    while (pending.size > 0) {
      assert.ok(clock.nowMs() - crashedAt < 20 * HEARTBEAT_MS, 'no failover');
      await clock.advance(1);
      for (const n of [...pending]) {
        if (agreedLeader(n, [1, 2]) >= 0) {
          pending.delete(n);
          failoverMs = clock.nowMs() - crashedAt;
        }
      }
    }
    return { settleMs, preVotes, elections, lost, failoverMs, failedOver: led.length, ackMs };
  } finally {
    for (const node of nodes) {
      await node.redex.close().catch(() => {});
      await node.mesh.close();
    }
  }
}

describe('coalesced heartbeats: timing', { timeout: 120_000 }, () => {
  for (const seed of [1, 2]) {
    it(`elections, failover and acknowledgements as without coalescing (seed ${seed})`, async () => {
      const on = await run(true, seed);
      const off = await run(false, seed);
      console.log(JSON.stringify({ seed, on, off }));
      for (const [mode, outcome] of [
        ['on', on],
        ['off', off],
      ] as const) {
        // One vote round per channel: no split vote, no candidate that lost.
        assert.equal(outcome.elections, CHANNELS, `${mode}: elections`);
        assert.equal(outcome.lost, 0, `${mode}: lost elections`);
        assert.ok(outcome.failedOver > 0, `${mode}: the crashed node led nothing`);
        // The silence window, at most a period to the next tick, and a few round trips.
        assert.ok(outcome.failoverMs <= SILENCE_MS + HEARTBEAT_MS + 20, `${mode}: failover`);
      }
      assert.ok(on.preVotes <= off.preVotes + 1, 'more stands with coalescing');
      assert.ok(on.settleMs <= off.settleMs + HEARTBEAT_MS / 2, 'first leaders later');
      // As fast: the millisecond or so either way depends on where the leader's tick grid falls.
      assert.ok(on.ackMs <= off.ackMs + 1, `acknowledgement latency ${on.ackMs} vs ${off.ackMs}`);
    });
  }
});
