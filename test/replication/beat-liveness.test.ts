// A channel's side of node beats, pure (beat-liveness.ts): which tick heartbeats may be left out,
// how far a node beat stretches a peer's latest heartbeat (current connection, cover bound, only
// what it proved), when a tick is quiet, and how long a channel may sleep after a quiet tick.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createBeatState,
  heartbeatHeard,
  heartbeatSent,
  markBusy,
  mustSendHeartbeat,
  quietHeartbeat,
  quietTick,
  quietUntilMs,
  REFRESH_INTERVAL_PERIODS,
  refreshLiveness,
  refreshPeriods,
  settleTick,
} from '../../src/replication/beat-liveness.js';
import {
  BEAT_COVER_PERIODS,
  BEAT_LAPSE_PERIODS,
  BEAT_REFRESH_PERIODS,
  type NodeBeatsView,
} from '../../src/replication/node-beats.js';
import type { ChannelState, StepEffect } from '../../src/replication/step-state.js';
import { heartbeatOf } from '../../src/replication/step-state.js';
import { channelIdFromName } from '../../src/wire/ids.js';
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
  readonly down = new Set<NodeId>();
  generation(peer: NodeId): number {
    return this.generations.get(peer) ?? 0;
  }
  beatAtMs(peer: NodeId): number | null {
    return this.beats.get(peer) ?? null;
  }
  isDown(peer: NodeId): boolean {
    return this.down.has(peer);
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

/** A replica following PEER since 1 000 that heard OTHER then (node beat generations 1 and 2). */
function followingReplica(): { s: ChannelState; table: FakeBeats } {
  const { s, table } = withBeats();
  follow(s, PEER, 0, 1_000);
  heartbeatHeard(s, OTHER, replicaHeartbeat(0), 1_000);
  return { s, table };
}

/** `followingReplica` after a full tick at 1 000 sent both peers its heartbeat. */
function afterFullTick(): { s: ChannelState; table: FakeBeats } {
  const { s, table } = followingReplica();
  for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, replicaHeartbeat(0), 1_000);
  return { s, table };
}

describe('beat liveness: hearing', () => {
  it("a node beat on the heartbeat's connection keeps the leader live", () => {
    const { s, table } = followingReplica();
    table.beats.set(PEER, 1_250);
    refreshLiveness(s, view(Role.Replica, 0, 1_260));
    assert.equal(s.tracker.peer(PEER)?.lastSeenMs, 1_250);
    assert.equal(s.tracker.peer(PEER)?.heardAtMs, 1_000);
    // Silent since the heartbeat (1 000), live since the beat (1 250).
    assert.equal(s.quorum.leaderIsLive('replica', 1_000 + SILENCE + 100), true);
    assert.equal(s.quorum.leaderIsLive('replica', 1_250 + SILENCE), false);
  });

  it('not across a connection change, and not past the cover bound', () => {
    const { s, table } = followingReplica();
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
    const { s, table } = followingReplica();
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
    assert.equal(mustSendHeartbeat(s, PEER, message, 1_100), true, 'not known to run the channel');
    heartbeatHeard(s, PEER, replicaHeartbeat(0), 1_050);
    assert.equal(mustSendHeartbeat(s, PEER, { ...message, wallClockMs: 9 }, 1_100), false);
    assert.equal(s.stats.heartbeatsSuppressed, 1);
    assert.equal(mustSendHeartbeat(s, PEER, replicaHeartbeat(5), 1_100), true, 'tail changed');
    const commit = { ...message, quorum: { epoch: 1, lastEpoch: 1, commitSeq: 3 } };
    assert.equal(mustSendHeartbeat(s, PEER, commit, 1_100), true, 'commit changed');
    // The first heartbeat of a channel refreshes early by a channel-dependent number of periods.
    const refreshAt = 1_000 + refreshPeriods(CID, false) * HB;
    assert.ok(refreshPeriods(CID, false) >= 2);
    assert.ok(refreshPeriods(CID, false) <= BEAT_REFRESH_PERIODS - 1);
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
    const { s, table } = afterFullTick();
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
    const { s, table } = afterFullTick();
    table.beats.set(OTHER, 1_000);
    table.beats.set(PEER, 1_000);
    settleTick(s, view(Role.Replica, 0, 1_000));
    // No beat from the leader since 1 000: silent at 1 300.
    assert.ok(quietTick(s, view(Role.Replica, 0, 1_200)) !== null);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_000 + SILENCE)), null);
  });
});

describe('beat liveness: a peer whose connection is down', () => {
  it('does not keep the tick full: nothing can reach it, and the leader is live', () => {
    const { s, table } = afterFullTick();
    table.beats.set(PEER, 1_090);
    table.beats.set(OTHER, 1_090);
    settleTick(s, view(Role.Replica, 0, 1_000));
    // OTHER's connection went down: a new generation, no beat on it.
    table.generations.set(OTHER, 3);
    table.beats.delete(OTHER);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_100)), null, 'known only as not beating');
    table.down.add(OTHER);
    const effects = quietTick(s, view(Role.Replica, 0, 1_100));
    assert.ok(effects !== null, 'a down peer leaves the tick quiet');
    assert.ok(
      effects.every((effect) => effect.kind !== 'send'),
      'and gets no heartbeat',
    );
    assert.equal(
      mustSendHeartbeat(s, OTHER, replicaHeartbeat(1), 1_100),
      false,
      'not even a new one',
    );
    // It came back on a new connection: the full tick runs and sends to it.
    table.down.delete(OTHER);
    table.generations.set(OTHER, 4);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_200)), null);
  });

  it('the leader down: the full tick runs once it is silent', () => {
    const { s, table } = afterFullTick();
    table.beats.set(OTHER, 1_000);
    settleTick(s, view(Role.Replica, 0, 1_000));
    table.down.add(PEER);
    table.generations.set(PEER, 3);
    assert.ok(quietTick(s, view(Role.Replica, 0, 1_200)) !== null);
    assert.equal(quietTick(s, view(Role.Replica, 0, 1_000 + SILENCE)), null);
  });
});

describe('beat liveness: a repeated heartbeat', () => {
  it('is taken as liveness without a step while nothing is due; a changed one is not', () => {
    const { s, table } = afterFullTick();
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

describe('beat liveness: refreshes', () => {
  it('a repeat refreshes after the full interval; a change after 2..interval periods, spread by channel', () => {
    const cid = channelIdFromName('spread/0');
    assert.equal(refreshPeriods(cid, true), REFRESH_INTERVAL_PERIODS);
    const counts = new Map<number, number>();
    const channels = 1_900;
    for (let i = 0; i < channels; i++) {
      const periods = refreshPeriods(channelIdFromName(`spread/${i}`), false);
      assert.ok(periods >= 2 && periods <= REFRESH_INTERVAL_PERIODS, `${periods}`);
      counts.set(periods, (counts.get(periods) ?? 0) + 1);
    }
    // Every phase is used, and none by more than twice its share.
    assert.equal(counts.size, REFRESH_INTERVAL_PERIODS - 1);
    const share = channels / (REFRESH_INTERVAL_PERIODS - 1);
    for (const [periods, count] of counts) assert.ok(count <= 2 * share, `${periods}: ${count}`);
  });

  it('a refresh that falls due goes from the quiet tick, the heartbeat the full tick would send', () => {
    const { s, table } = followingReplica();
    const first = heartbeatOf(s, Role.Replica, 0, 1_000);
    for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, first, 1_000);
    settleTick(s, view(Role.Replica, 0, 1_000));
    const at = (nowMs: number) => {
      // Both peers beat just before each tick, and the leader's own refresh came: it stays live.
      table.beats.set(PEER, nowMs - 10);
      table.beats.set(OTHER, nowMs - 10);
      const again = inbound(PEER, leaderHeartbeat(0));
      assert.ok(quietHeartbeat(s, again, view(Role.Replica, 0, nowMs - 5)));
      const effects = quietTick(s, view(Role.Replica, 0, nowMs));
      assert.ok(effects !== null, `a full tick at ${nowMs}`);
      return effects.flatMap((e) => (e.kind === 'send' ? [e] : []));
    };
    const dueAt = 1_000 + refreshPeriods(CID, false) * HB;
    assert.deepEqual(at(dueAt - HB), []);
    const sends = at(dueAt);
    assert.deepEqual(
      sends.map((e) => e.to),
      [PEER, OTHER],
    );
    for (const e of sends)
      assert.deepEqual({ ...e.message, wallClockMs: 0 }, { ...first, wallClockMs: 0 });
    assert.equal(s.stats.quietRefreshes, 1);
    assert.equal(s.stats.quietTicks, 2);
    // Recorded as a repeat: the next one comes a full interval later.
    for (const e of sends) heartbeatSent(s, e.to, e.message as SyncHeartbeat, dueAt);
    assert.deepEqual(at(dueAt + (REFRESH_INTERVAL_PERIODS - 1) * HB), []);
    assert.equal(at(dueAt + REFRESH_INTERVAL_PERIODS * HB).length, 2);
  });

  it('not when what would be sent differs from the last one: the full tick runs', () => {
    const { s, table } = followingReplica();
    heartbeatSent(s, PEER, heartbeatOf(s, Role.Replica, 0, 1_000), 1_000);
    // What OTHER last got is not what this channel would say now.
    heartbeatSent(s, OTHER, replicaHeartbeat(3), 1_000);
    settleTick(s, view(Role.Replica, 0, 1_000));
    const dueAt = 1_000 + refreshPeriods(CID, false) * HB;
    table.beats.set(PEER, dueAt - 10);
    table.beats.set(OTHER, dueAt - 10);
    assert.equal(quietTick(s, view(Role.Replica, 0, dueAt)), null);
    assert.equal(s.stats.quietRefreshes, 0);
  });
});

describe('beat liveness: a peer not known to run the channel', () => {
  it('gets every heartbeat, from the quiet tick when nothing else is due, until one of its heartbeats arrived', () => {
    const { s, table } = withBeats();
    follow(s, PEER, 0, 1_000);
    const message = heartbeatOf(s, Role.Replica, 0, 1_000);
    for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, message, 1_000);
    settleTick(s, view(Role.Replica, 0, 1_000));
    table.beats.set(PEER, 1_090);
    table.beats.set(OTHER, 1_090);
    // OTHER beats, but nothing of this channel came from it: it may have dropped what we sent.
    assert.equal(mustSendHeartbeat(s, OTHER, message, 1_100), true);
    assert.equal(mustSendHeartbeat(s, PEER, message, 1_100), false);
    const sends = (effects: readonly StepEffect[] | null) => {
      assert.ok(effects !== null, 'a full tick');
      return effects.flatMap((e) => (e.kind === 'send' ? [e.to] : []));
    };
    assert.deepEqual(sends(quietTick(s, view(Role.Replica, 0, 1_100))), [OTHER]);
    heartbeatHeard(s, OTHER, replicaHeartbeat(0), 1_150);
    assert.equal(mustSendHeartbeat(s, OTHER, message, 1_200), false);
    assert.deepEqual(sends(quietTick(s, view(Role.Replica, 0, 1_200))), []);
    // A new connection to OTHER: not known again until it is heard on it.
    table.generations.set(OTHER, 8);
    assert.equal(mustSendHeartbeat(s, OTHER, message, 1_200), true);
  });
});

describe('beat liveness: sleeping after a quiet tick', () => {
  /** `afterFullTick`, OTHER's heartbeat tracked as heard at `otherHeardMs`, both beating at 1 090. */
  function settled(otherHeardMs = 1_000): { s: ChannelState; table: FakeBeats } {
    const { s, table } = afterFullTick();
    s.tracker.recordHeartbeat(OTHER, Role.Replica, 0, otherHeardMs, 1, { generation: 2, epoch: 1 });
    table.beats.set(PEER, 1_090);
    table.beats.set(OTHER, 1_090);
    settleTick(s, view(Role.Replica, 0, 1_000));
    return { s, table };
  }

  it('until the first refresh due, when the peers are covered longer', () => {
    const { s } = settled();
    assert.ok(quietTick(s, view(Role.Replica, 0, 1_100)) !== null);
    // Both heartbeats went at 1 000, the first of their kind: refreshed 2..19 periods on.
    const refreshAtMs = 1_000 + refreshPeriods(CID, false) * HB;
    assert.equal(quietUntilMs(s, 1_100), refreshAtMs);
    assert.ok(refreshAtMs > 1_200, 'a sleep of at least a period');
  });

  it("until a peer's cover ends, when that comes first", () => {
    const { s } = settled(500);
    for (const peer of [PEER, OTHER]) heartbeatSent(s, peer, replicaHeartbeat(0), 1_000); // repeats
    // Refreshes at 1 000 + 19 periods; OTHER covered until 500 + 22 periods.
    assert.equal(quietUntilMs(s, 1_100), 500 + BEAT_COVER_PERIODS * HB);
  });

  it('not at all while a beat is late, a peer is down or unknown to run it, or a lag is shown', () => {
    const lapseMs = BEAT_LAPSE_PERIODS * HB;
    let { s, table } = settled();
    table.beats.set(PEER, 1_100 - lapseMs);
    assert.ok(quietUntilMs(s, 1_100) > 1_200, 'a beat just within the lapse');
    table.beats.set(PEER, 1_100 - lapseMs - 1);
    assert.equal(quietUntilMs(s, 1_100), 1_100, 'a lapsed beat');

    ({ s, table } = settled());
    table.down.add(OTHER);
    assert.equal(quietUntilMs(s, 1_100), 1_100, 'a peer down');

    ({ s, table } = settled());
    table.generations.set(OTHER, 9);
    table.beats.set(OTHER, 1_090);
    assert.equal(quietUntilMs(s, 1_100), 1_100, 'a peer on a new connection');

    ({ s } = settled());
    assert.ok(s.beats !== null);
    s.beats.lagShownMs = HB;
    assert.equal(quietUntilMs(s, 1_100), 1_100, 'a lag of a period shown');

    assert.equal(quietUntilMs(state(), 1_100), 1_100, 'no node beats');
  });
});
