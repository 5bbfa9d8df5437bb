// Many idle channels over the simulated mesh in virtual time (docs/DESIGN.md#node-beats): once
// settled, no channel runs a full tick and most sleep through their ticks (about one tick per
// channel per refresh interval); the refreshes of channels opened together are spread over the
// refresh interval instead of landing in one period; and every channel a killed node, or a hung
// one whose connections stay up, led has a new leader within the silence window and a period
// (the target allows 3 periods + 1 s), asleep or not.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { REFRESH_INTERVAL_PERIODS } from '../../src/replication/beat-liveness.js';
import { Role } from '../../src/wire/types.js';
import { channelsCluster, IDS } from './channels-cluster.js';

const HEARTBEAT_MS = 100;
const SILENCE_MS = 3 * HEARTBEAT_MS;
const CHANNELS = 200;
const NAMES = Array.from({ length: CHANNELS }, (_, i) => `many/c${i}`);
const REPLICATION = { replication: { factor: 3, heartbeatMs: HEARTBEAT_MS } };

const clusters: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const cluster of clusters.splice(0)) await cluster.close();
});

async function settledCluster(seed: number) {
  const cluster = channelsCluster(seed);
  clusters.push(cluster);
  const { clock, nodes } = cluster;
  for (const node of nodes) for (const name of NAMES) await node.redex.openFile(name, REPLICATION);
  await cluster.settle(NAMES, HEARTBEAT_MS, 100);
  // Past the transfers back to the preferred members and every channel's first refresh.
  await clock.advance(2 * REFRESH_INTERVAL_PERIODS * HEARTBEAT_MS);
  return cluster;
}

type SettledCluster = Awaited<ReturnType<typeof settledCluster>>;

/** The channels node 0 leads, checked to be enough of them for a failover to move many. */
function ledByNode0({ runtime }: SettledCluster): string[] {
  const led = NAMES.filter((n) => runtime(0, n).coordinator.role === Role.Leader);
  assert.ok(led.length > CHANNELS / 10, `node 0 leads ${led.length}`);
  return led;
}

/** Advances until each of `led` has a leader among nodes 1 and 2; the time that took. */
async function failoverMs({ clock, leaderOf }: SettledCluster, led: string[]): Promise<number> {
  const faultAt = clock.nowMs();
  while (!led.every((n) => leaderOf(n, [1, 2]) >= 0)) {
    assert.ok(clock.nowMs() - faultAt <= 3 * HEARTBEAT_MS + 1_000, 'no failover in time');
    await clock.advance(1);
  }
  return clock.nowMs() - faultAt;
}

describe('many channels', { timeout: 120_000 }, () => {
  it('idle: no full tick, few ticks at all, and the refreshes spread over the interval', async () => {
    const { clock, nodes, runtime } = await settledCluster(31);
    const fullTicks = () =>
      NAMES.reduce((sum, n) => {
        const stats = runtime(0, n).stats;
        return sum + stats.ticks - stats.quietTicks;
      }, 0);
    const allTicks = () => NAMES.reduce((sum, n) => sum + runtime(0, n).stats.ticks, 0);
    const ticksBefore = fullTicks();
    const allBefore = allTicks();
    // Heartbeats node 0 sent in each period of one refresh interval.
    const perPeriod: number[] = [];
    for (let period = 0; period < REFRESH_INTERVAL_PERIODS; period++) {
      const before = nodes[0]!.mesh.heartbeatStats().heartbeatsQueued;
      await clock.advance(HEARTBEAT_MS);
      perPeriod.push(nodes[0]!.mesh.heartbeatStats().heartbeatsQueued - before);
    }
    assert.equal(fullTicks(), ticksBefore, 'a full tick ran on an idle channel');
    // Asleep between refreshes: about one tick per channel in the interval (the refresh), not one
    // per period.
    const ticked = allTicks() - allBefore;
    assert.ok(ticked <= 1.5 * CHANNELS, `${ticked} ticks of ${CHANNELS} channels`);
    assert.ok((nodes[0]!.mesh.ticks?.sleeping ?? 0) >= 0.8 * CHANNELS, 'most channels asleep');
    // What the status page reads of a sleeping channel is as fresh as the node beats.
    const stale = NAMES.filter((n) =>
      runtime(0, n)
        .snapshot()
        .replicas.some((r) => !r.fresh),
    );
    assert.deepEqual(stale, [], 'replicas shown silent');
    const total = perPeriod.reduce((sum, n) => sum + n, 0);
    // Every channel refreshed both peers once in the interval...
    assert.ok(total >= 2 * CHANNELS * 0.9 && total <= 2 * CHANNELS * 1.1, `${total} heartbeats`);
    // ...spread: no period carries more than three times its share (all at once would be 19×).
    const share = total / REFRESH_INTERVAL_PERIODS;
    assert.ok(Math.max(...perPeriod) <= 3 * share, `per period: ${perPeriod.join(' ')}`);
  });

  it('a killed node: every channel it led has a new leader within the silence window and a period', async () => {
    const cluster = await settledCluster(37);
    const { clock, network, runtime } = cluster;
    const led = ledByNode0(cluster);
    network.crash(IDS[0]!);
    const tookMs = await failoverMs(cluster, led);
    assert.ok(tookMs <= SILENCE_MS + HEARTBEAT_MS + 20, `failover took ${tookMs} ms`);
    // Then the survivors idle again: a dead peer keeps no channel's tick full, nor does leading
    // a channel whose preferred member is the dead node (at 10,000 channels those full ticks
    // left the survivors no CPU for the failover itself).
    await clock.advance(2 * SILENCE_MS);
    const fullTicks = () =>
      [1, 2].reduce(
        (sum, node) =>
          sum +
          NAMES.reduce((inner, n) => {
            const stats = runtime(node, n).stats;
            return inner + stats.ticks - stats.quietTicks;
          }, 0),
        0,
      );
    const before = fullTicks();
    await clock.advance(10 * HEARTBEAT_MS);
    assert.equal(fullTicks(), before, 'full ticks on the survivors after the failover');
  });

  it('a hung node (connections up, nothing sent): every channel it led has a new leader as fast, though asleep', async () => {
    const cluster = await settledCluster(41);
    const { network, nodes } = cluster;
    const led = ledByNode0(cluster);
    assert.ok((nodes[1]!.mesh.ticks?.sleeping ?? 0) >= 0.8 * CHANNELS, 'most channels asleep');
    // No connection event tells the peers: only the lapse of node 0's node beats wakes them.
    const transport = network.transport(IDS[0]!);
    assert.ok(transport !== undefined);
    transport.send = () => true;
    const tookMs = await failoverMs(cluster, led);
    assert.ok(tookMs <= SILENCE_MS + HEARTBEAT_MS + 20, `failover took ${tookMs} ms`);
  });
});
