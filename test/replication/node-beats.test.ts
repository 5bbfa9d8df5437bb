// The node's beat table (node-beats.ts), the coalescer's node beats and the grid's beat hook, in
// virtual time: a beat per connected peer per grid beat, after that peer's heartbeats; beats and
// connection generations recorded per peer; malformed beats counted, never thrown.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalescingDispatcher } from '../../src/replication/heartbeat-coalescer.js';
import {
  BEAT_LAPSE_PERIODS,
  NODE_BEAT_PEERS_MAX,
  NodeBeats,
} from '../../src/replication/node-beats.js';
import { TickScheduler } from '../../src/replication/tick-scheduler.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { encodeNodeBeat } from '../../src/wire/node-beat.js';
import { DispatchCode, type NodeId, Role, type SyncHeartbeat } from '../../src/wire/types.js';

const P1 = 0x11n;
const P2 = 0x22n;

function heartbeat(channel: number): SyncHeartbeat {
  const channelId = new Uint8Array(32);
  channelId[0] = channel;
  return { kind: 'heartbeat', channelId, tailSeq: 1, role: Role.Replica, wallClockMs: 5 };
}

describe('NodeBeats', () => {
  it('asks sleeping channels to wake after a connection change and while a beat is late', async () => {
    const clock = new VirtualClock(1_000);
    const beats = new NodeBeats(clock);
    const period = 100;
    assert.equal(beats.wakeDue(1_000, period), false, 'nothing seen yet');
    beats.connectionChanged(P1, true);
    assert.equal(beats.wakeDue(1_000, period), true, 'a connection came up');
    assert.equal(beats.wakeDue(1_000, period), false, 'told once');
    beats.onFrame(P1, encodeNodeBeat());
    const lapseMs = BEAT_LAPSE_PERIODS * period;
    assert.equal(beats.wakeDue(1_000 + lapseMs, period), false, 'a beat within the lapse');
    assert.equal(beats.wakeDue(1_000 + lapseMs + 1, period), true, 'a lapsed beat');
    assert.equal(beats.wakeDue(1_000 + lapseMs + 50, period), true, 'at every beat while lapsed');
    await clock.advance(lapseMs + 60);
    beats.onFrame(P1, encodeNodeBeat());
    assert.equal(beats.wakeDue(clock.nowMs() + 10, period), false, 'beating again');
    beats.connectionChanged(P1, false);
    assert.equal(beats.wakeDue(clock.nowMs() + 1_000, period), true, 'went down');
    assert.equal(beats.wakeDue(clock.nowMs() + 2_000, period), false, 'a down peer has no beat');
  });

  it('records the latest beat per peer on its current connection', async () => {
    const clock = new VirtualClock(1_000);
    const beats = new NodeBeats(clock);
    assert.equal(beats.generation(P1), 0);
    assert.equal(beats.beatAtMs(P1), null);
    assert.equal(beats.onFrame(P1, encodeNodeBeat()), true);
    assert.equal(beats.beatAtMs(P1), 1_000);
    assert.equal(beats.generation(P1), 0);
    beats.connectionChanged(P1, true);
    const first = beats.generation(P1);
    assert.ok(first > 0);
    assert.equal(beats.beatAtMs(P1), null, 'no beat on the new connection yet');
    await clock.advance(50);
    beats.onFrame(P1, encodeNodeBeat());
    assert.equal(beats.beatAtMs(P1), 1_050);
    beats.connectionChanged(P2, true);
    beats.connectionChanged(P1, false);
    assert.ok(beats.generation(P1) > first && beats.generation(P1) !== beats.generation(P2));
    assert.equal(beats.isDown(P1), true, 'its connection went down');
    assert.equal(beats.isDown(P2), false);
    assert.equal(beats.isDown(BigInt(77)), false, 'a peer never seen is not known to be down');
    assert.equal(beats.stats.beatsIn, 2);
    beats.assertInvariants();
  });

  it('takes other frames back, counts malformed beats, and stays bounded', () => {
    const beats = new NodeBeats(new VirtualClock(0));
    assert.equal(beats.onFrame(P1, new Uint8Array([0x00, 0x0e, 0x22])), false);
    assert.equal(beats.onFrame(P1, new Uint8Array([0x00, 0x0e, 0x29, 0x01])), true);
    assert.equal(beats.stats.malformed, 1);
    assert.equal(beats.beatAtMs(P1), null);
    for (let i = 1; i <= NODE_BEAT_PEERS_MAX + 10; i++) beats.onFrame(BigInt(i), encodeNodeBeat());
    assert.equal(beats.beatAtMs(BigInt(NODE_BEAT_PEERS_MAX + 5)), null, 'beyond the bound');
    beats.assertInvariants();
  });
});

describe('node beats on the wire', () => {
  it('each grid beat sends every peer one NodeBeat, after its heartbeats', async () => {
    const clock = new VirtualClock(0);
    const frames: Array<{ target: NodeId; code: number | undefined }> = [];
    const send = (target: NodeId, frame: Uint8Array) => {
      frames.push({ target, code: frame[2] });
      return Promise.resolve();
    };
    const dispatcher = coalescingDispatcher(send, { clock, nodeBeatPeers: () => [P1, P2] });
    const ticks = new TickScheduler(clock);
    ticks.onBeat(() => dispatcher.beat());
    const off = ticks.every(100, () => {
      void dispatcher.sendHeartbeat(P1, heartbeat(1));
      void dispatcher.sendHeartbeat(P1, heartbeat(2));
    });
    await clock.advance(100);
    assert.deepEqual(frames, [
      { target: P1, code: DispatchCode.HeartbeatBatch },
      { target: P1, code: DispatchCode.NodeBeat },
      { target: P2, code: DispatchCode.NodeBeat },
    ]);
    await clock.advance(300);
    assert.equal(dispatcher.stats.nodeBeats, 8);
    off.cancel();
    dispatcher.close();
    dispatcher.beat();
    await clock.advance(100);
    assert.equal(dispatcher.stats.nodeBeats, 8, 'nothing after close');
  });

  it('without node-beat peers, beat() sends nothing', async () => {
    const clock = new VirtualClock(0);
    let sent = 0;
    const dispatcher = coalescingDispatcher(
      () => {
        sent++;
        return Promise.resolve();
      },
      { clock },
    );
    dispatcher.beat();
    await clock.advance(10);
    assert.equal(sent, 0);
  });
});
