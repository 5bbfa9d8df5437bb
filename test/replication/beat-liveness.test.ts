// A channel's side of node beats, pure (beat-liveness.ts): which tick heartbeats may be left out,
// how far a node beat stretches a peer's latest heartbeat (current connection, cover bound, only
// what it proved), and when a tick is quiet.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createBeatState,
  heartbeatSent,
  markBusy,
  mustSendHeartbeat,
  quietHeartbeat,
  quietTick,
  refreshLiveness,
  settleTick,
} from '../../src/replication/beat-liveness.js';
import {
  BEAT_COVER_PERIODS,
  BEAT_REFRESH_PERIODS,
  type NodeBeatsView,
} from '../../src/replication/node-beats.js';
import type { ChannelState } from '../../src/replication/step-state.js';
import type { NodeId, SyncHeartbeat } from '../../src/wire/types.js';
import { inbound } from './imports.js';
import {
  CID,
  follow,
  HB,
  leaderHeartbeat,
  OTHER,
  PEER,
  Role,
  state,
  view,
} from './step-fixtures.js';

class FakeBeats implements NodeBeatsView {
  readonly generations = new Map<NodeId, number>();
  readonly beats = new Map<NodeId, number>();
  generation(peer: NodeId): number {
    return this.generations.get(peer) ?? 0;
  }
  beatAtMs(peer: NodeId): number | null {
    return this.beats.get(peer) ?? null;
  }
}

function withBeats(): { s: ChannelState; table: FakeBeats } {
  const table = new FakeBeats();
  table.generations.set(PEER, 1);
  table.generations.set(OTHER, 2);
  return { s: { ...state(), beats: createBeatState(table) }, table };
}

function replicaHeartbeat(tailSeq: number): SyncHeartbeat {
  return {
    kind: 'heartbeat',
    channelId: CID,
    tailSeq,
    role: Role.Replica,
    wallClockMs: 0,
    quorum: { epoch: 1, lastEpoch: 1, commitSeq: 0 },
  };
}

const SILENCE = 3 * HB;

describe('beat liveness: hearing', () => {
  it("a node beat on the heartbeat's connection keeps the leader live", () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    table.beats.set(PEER, 1_250);
    refreshLiveness(s, view(Role.Replica, 0, 1_260));
    assert.equal(s.tracker.peer(PEER)?.lastSeenMs, 1_250);
    assert.equal(s.tracker.peer(PEER)?.heardAtMs, 1_000);
    // Silent since the heartbeat (1 000), live since the beat (1 250).
    assert.equal(s.quorum.leaderIsLive('replica', 1_000 + SILENCE + 100), true);
    assert.equal(s.quorum.leaderIsLive('replica', 1_250 + SILENCE), false);
  });

  it('not across a connection change, and not past the cover bound', () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    table.generations.set(PEER, 5);
    table.beats.set(PEER, 1_250);
    refreshLiveness(s, view(Role.Replica, 0, 1_260));
    assert.equal(s.tracker.peer(PEER)?.lastSeenMs, 1_000);
    assert.equal(s.quorum.leaderIsLive('replica', 1_000 + SILENCE), false);

    const other = withBeats();
    follow(other.s, PEER, 0, 1_000);
    const bound = 1_000 + BEAT_COVER_PERIODS * HB;
    other.table.beats.set(PEER, bound);
    refreshLiveness(other.s, view(Role.Replica, 0, bound));
    assert.equal(other.s.tracker.peer(PEER)?.lastSeenMs, bound);
    other.table.beats.set(PEER, bound + 1);
    refreshLiveness(other.s, view(Role.Replica, 0, bound + 1));
    assert.equal(other.s.tracker.peer(PEER)?.lastSeenMs, bound, 'stretched past the bound');
  });

  it('a Replica heartbeat from the followed leader does not keep it live', () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    // The old leader now says it is a Replica (same epoch): its beats prove no leadership.
    s.tracker.recordHeartbeat(PEER, Role.Replica, 0, 1_100, 1, { generation: 1, epoch: 1 });
    table.beats.set(PEER, 1_350);
    refreshLiveness(s, view(Role.Replica, 0, 1_360));
    assert.equal(s.tracker.peer(PEER)?.lastSeenMs, 1_350, 'the peer itself is alive');
    assert.equal(s.quorum.leaderIsLive('replica', 1_000 + SILENCE), false);
  });
});

describe('beat liveness: sending', () => {
  it('leaves out an identical heartbeat to a peer that beats, until the refresh', () => {
    const { s, table } = withBeats();
    const message = replicaHeartbeat(4);
    assert.equal(mustSendHeartbeat(s, PEER, message, 1_000), true, 'never sent');
    heartbeatSent(s, PEER, message, 1_000);
    assert.equal(mustSendHeartbeat(s, PEER, message, 1_100), true, 'peer does not beat');
    table.beats.set(PEER, 1_050);
    assert.equal(mustSendHeartbeat(s, PEER, { ...message, wallClockMs: 9 }, 1_100), false);
    assert.equal(s.stats.heartbeatsSuppressed, 1);
    assert.equal(mustSendHeartbeat(s, PEER, replicaHeartbeat(5), 1_100), true, 'tail changed');
    const commit = { ...message, quorum: { epoch: 1, lastEpoch: 1, commitSeq: 3 } };
    assert.equal(mustSendHeartbeat(s, PEER, commit, 1_100), true, 'commit changed');
    const refreshAt = 1_000 + (BEAT_REFRESH_PERIODS - 1) * HB;
    assert.equal(mustSendHeartbeat(s, PEER, message, refreshAt - 1), false);
    assert.equal(mustSendHeartbeat(s, PEER, message, refreshAt), true, 'refresh due');
    table.generations.set(PEER, 9);
    assert.equal(mustSendHeartbeat(s, PEER, message, 1_100), true, 'new connection');
  });

  it('without node beats every heartbeat goes', () => {
    const s = state();
    heartbeatSent(s, PEER, replicaHeartbeat(4), 1_000);
    assert.equal(mustSendHeartbeat(s, PEER, replicaHeartbeat(4), 1_100), true);
  });
});

describe('beat liveness: the quiet tick', () => {
  it('a replica following a live leader with nothing changed skips its tick', () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    // What the last full tick sent both peers.
    for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, replicaHeartbeat(0), 1_000);
    table.beats.set(PEER, 1_090);
    table.beats.set(OTHER, 1_090);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_100)), null, 'no full tick yet');
    settleTick(s, view(Role.Replica, 0, 1_000));
    const effects = quietTick(s, view(Role.Replica, 0, 1_100));
    assert.ok(effects !== null);
    assert.deepEqual(effects, [
      { kind: 'metric', metric: { name: 'lag', role: 'replica', lagMs: 10 } },
    ]);
    assert.equal(s.stats.quietTicks, 1);
    // The tail moved, another step ran, or a peer stopped beating: the full tick runs.
    assert.equal(quietTick(s, view(Role.Replica, 1, 1_200)), null);
    table.beats.delete(OTHER);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_200)), null);
    table.beats.set(OTHER, 1_190);
    assert.ok(quietTick(s, view(Role.Replica, 0, 1_200)) !== null);
    markBusy(s);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_300)), null);
  });

  it('not once the leader is silent: the full tick must decide', () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, replicaHeartbeat(0), 1_000);
    table.beats.set(OTHER, 1_000);
    table.beats.set(PEER, 1_000);
    settleTick(s, view(Role.Replica, 0, 1_000));
    // No beat from the leader since 1 000: silent at 1 300.
    assert.ok(quietTick(s, view(Role.Replica, 0, 1_200)) !== null);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_000 + SILENCE)), null);
  });
});

describe('beat liveness: a repeated heartbeat', () => {
  it('is taken as liveness without a step while nothing is due; a changed one is not', () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, replicaHeartbeat(0), 1_000);
    table.beats.set(PEER, 1_000);
    table.beats.set(OTHER, 1_000);
    const again = inbound(PEER, leaderHeartbeat(0));
    assert.equal(quietHeartbeat(s, again, view(Role.Replica, 0, 1_100)), false, 'no full tick yet');
    settleTick(s, view(Role.Replica, 0, 1_000));
    assert.equal(quietHeartbeat(s, again, view(Role.Replica, 0, 1_200)), true);
    assert.equal(s.stats.quietHeartbeats, 1);
    assert.equal(s.tracker.peer(PEER)?.heardAtMs, 1_200);
    assert.equal(s.quorum.leaderIsLive('replica', 1_200 + SILENCE - 1), true);
    // More to fetch: the full handling must ask for it.
    const more = inbound(PEER, leaderHeartbeat(5));
    assert.equal(quietHeartbeat(s, more, view(Role.Replica, 0, 1_250)), false);
    // Heard on an earlier connection: not quiet either.
    table.generations.set(PEER, 7);
    assert.equal(quietHeartbeat(s, again, view(Role.Replica, 0, 1_300)), false);
  });
});
