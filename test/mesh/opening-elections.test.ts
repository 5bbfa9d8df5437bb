// Three nodes opening the same channels at different speeds, over the simulated mesh in virtual
// time: each channel should need one election, won by its preferred member (the replica set's
// first), rather than going to whichever node opened it first and being handed back by a
// transfer. And the failover of every channel a killed node led still holds its bound.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Role } from '../../src/wire/types.js';
import { channelsCluster, IDS } from './channels-cluster.js';

const HEARTBEAT_MS = 100;
const CHANNELS = 120;
const NAMES = Array.from({ length: CHANNELS }, (_, i) => `opening/c${i}`);
const REPLICATION = { replication: { factor: 3, heartbeatMs: HEARTBEAT_MS } };
/** Channels each node opens per 50 ms step: the slowest takes about six silence windows. */
const OPEN_RATES = [40, 12, 4];

const clusters: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const cluster of clusters.splice(0)) await cluster.close();
});

async function openingCluster(seed: number) {
  const cluster = channelsCluster(seed);
  clusters.push(cluster);
  const { clock, nodes } = cluster;
  // The nodes connect and beat before the opens, as a daemon's mesh does.
  await clock.advance(5 * HEARTBEAT_MS);
  const opened = [0, 0, 0];
  while (opened.some((n) => n < CHANNELS)) {
    for (const [node, rate] of OPEN_RATES.entries()) {
      const upTo = Math.min(CHANNELS, opened[node]! + rate);
      for (; opened[node]! < upTo; opened[node]!++) {
        await nodes[node]!.redex.openFile(NAMES[opened[node]!]!, REPLICATION);
      }
    }
    await clock.advance(50);
  }
  await cluster.settle(NAMES, HEARTBEAT_MS, 200);
  // Long enough for any transfer back to a preferred member to have run.
  await clock.advance(20 * HEARTBEAT_MS);
  return cluster;
}

describe('channels opened at different speeds', { timeout: 120_000 }, () => {
  it('one election per channel, won by its preferred member', async () => {
    const { runtime, leaderOf } = await openingCluster(41);
    let elections = 0;
    let transfers = 0;
    let preferredLeads = 0;
    for (const name of NAMES) {
      for (let node = 0; node < IDS.length; node++) {
        const counters = runtime(node, name).quorum.counters;
        elections += counters.electionsStarted;
        transfers += counters.transfersStarted;
      }
      const leader = leaderOf(name, [0, 1, 2]);
      if (IDS[leader] === runtime(0, name).quorum.preferredLeader) preferredLeads++;
    }
    assert.equal(preferredLeads, CHANNELS, 'every channel is led by its preferred member');
    assert.ok(
      elections <= CHANNELS * 1.1,
      `${(elections / CHANNELS).toFixed(2)} elections per channel (${transfers} transfers)`,
    );
    assert.ok(transfers <= CHANNELS * 0.1, `${transfers} transfers for ${CHANNELS} channels`);
  });

  it('a killed node: every channel it led has a new leader within 3 periods + 1 s', async () => {
    const { clock, network, runtime, leaderOf } = await openingCluster(43);
    const led = NAMES.filter((n) => runtime(0, n).coordinator.role === Role.Leader);
    assert.ok(led.length > CHANNELS / 10, `node 0 leads ${led.length}`);
    network.crash(IDS[0]!);
    const killedAt = clock.nowMs();
    while (!led.every((n) => leaderOf(n, [1, 2]) >= 0)) {
      assert.ok(clock.nowMs() - killedAt <= 3 * HEARTBEAT_MS + 1_000, 'no failover in time');
      await clock.advance(1);
    }
  });
});
