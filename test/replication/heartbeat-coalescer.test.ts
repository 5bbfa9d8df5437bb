// The coalescing dispatcher and the node's tick grid, in virtual time: many channels' heartbeats
// to one peer in one burst leave as one frame, order per peer is kept, and every channel on the
// grid ticks on the same beat.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalescingDispatcher } from '../../src/replication/heartbeat-coalescer.js';
import { TickScheduler } from '../../src/replication/tick-scheduler.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import { decodeAnyMessage, decodeHeartbeatBatch, isHeartbeatBatch } from '../../src/wire/codec.js';
import { DispatchCode, type NodeId, Role, type SyncHeartbeat } from '../../src/wire/types.js';

const P1 = 0x11n;
const P2 = 0x22n;

function heartbeat(channel: number, tailSeq = 0): SyncHeartbeat {
  const channelId = new Uint8Array(32);
  new DataView(channelId.buffer).setUint32(0, channel, true);
  return { kind: 'heartbeat', channelId, tailSeq, role: Role.Replica, wallClockMs: 5 };
}

function recorder() {
  const frames: Array<{ target: NodeId; frame: Uint8Array }> = [];
  let refuse = false;
  return {
    frames,
    refuse(on: boolean) {
      refuse = on;
    },
    send: (target: NodeId, frame: Uint8Array) => {
      if (refuse) return Promise.reject(new Error('dropped'));
      frames.push({ target, frame });
      return Promise.resolve();
    },
  };
}

describe('coalescingDispatcher', () => {
  it('sends one frame per peer for a burst of many channels, split back in order', async () => {
    const clock = new VirtualClock(0);
    const sent = recorder();
    const dispatcher = coalescingDispatcher(sent.send, { clock });
    for (let channel = 0; channel < 500; channel++) {
      await dispatcher.sendHeartbeat(P1, heartbeat(channel));
      await dispatcher.sendHeartbeat(P2, heartbeat(channel));
    }
    assert.equal(sent.frames.length, 0, 'nothing leaves before the burst ends');
    assert.equal(dispatcher.queued, 1000);
    await clock.advance(0);
    assert.equal(sent.frames.length, 2);
    for (const [index, target] of [P1, P2].entries()) {
      const { frame } = sent.frames[index]!;
      assert.equal(sent.frames[index]!.target, target);
      assert.ok(isHeartbeatBatch(frame));
      const split = decodeHeartbeatBatch(frame);
      assert.deepEqual(
        split,
        Array.from({ length: 500 }, (_, channel) => heartbeat(channel)),
      );
    }
    assert.deepEqual(dispatcher.stats, {
      heartbeatsQueued: 1000,
      heartbeatFrames: 2,
      batchFrames: 2,
      sendFailures: 0,
      nodeBeats: 0,
    });
    assert.equal(dispatcher.queued, 0);
  });

  it('sends a lone heartbeat as a plain SyncHeartbeat frame', async () => {
    const clock = new VirtualClock(0);
    const sent = recorder();
    const dispatcher = coalescingDispatcher(sent.send, { clock });
    await dispatcher.sendHeartbeat(P1, heartbeat(3, 9));
    await clock.advance(0);
    assert.equal(sent.frames.length, 1);
    assert.equal(sent.frames[0]!.frame[2], DispatchCode.SyncHeartbeat);
    assert.deepEqual(decodeAnyMessage(sent.frames[0]!.frame), heartbeat(3, 9));
  });

  it('keeps order per peer: another message first flushes that peer’s heartbeats', async () => {
    const clock = new VirtualClock(0);
    const sent = recorder();
    const dispatcher = coalescingDispatcher(sent.send, { clock });
    await dispatcher.sendHeartbeat(P1, heartbeat(1));
    await dispatcher.sendHeartbeat(P1, heartbeat(2));
    await dispatcher.sendHeartbeat(P2, heartbeat(1));
    await dispatcher.sendQuorum(P1, {
      kind: 'stand-now',
      channelId: heartbeat(1).channelId,
      epoch: 2,
    });
    assert.deepEqual(
      sent.frames.map(({ target, frame }) => [target, frame[2]]),
      [
        [P1, DispatchCode.HeartbeatBatch],
        [P1, DispatchCode.StandNow],
      ],
    );
    await clock.advance(0);
    assert.deepEqual(
      sent.frames.map(({ target }) => target),
      [P1, P1, P2],
    );
  });

  it('starts a new frame at batchMax and counts a frame the sender refused', async () => {
    const clock = new VirtualClock(0);
    const sent = recorder();
    const dispatcher = coalescingDispatcher(sent.send, { clock, batchMax: 4 });
    for (let channel = 0; channel < 10; channel++)
      await dispatcher.sendHeartbeat(P1, heartbeat(channel));
    await clock.advance(0);
    assert.deepEqual(
      sent.frames.map(({ frame }) => decodeHeartbeatBatch(frame).length),
      [4, 4, 2],
    );
    sent.refuse(true);
    await dispatcher.sendHeartbeat(P1, heartbeat(1));
    await clock.advance(0);
    await Promise.resolve();
    assert.equal(dispatcher.stats.sendFailures, 1);
  });

  it('rejects a heartbeat that does not encode, at once', async () => {
    const dispatcher = coalescingDispatcher(recorder().send, { clock: new VirtualClock(0) });
    await assert.rejects(dispatcher.sendHeartbeat(P1, { ...heartbeat(1), tailSeq: -1 }));
    assert.equal(dispatcher.queued, 0);
  });

  it('close drops what is queued and cancels the flush', async () => {
    const clock = new VirtualClock(0);
    const sent = recorder();
    const dispatcher = coalescingDispatcher(sent.send, { clock });
    await dispatcher.sendHeartbeat(P1, heartbeat(1));
    dispatcher.close();
    await clock.advance(10);
    assert.equal(sent.frames.length, 0);
    assert.equal(dispatcher.queued, 0);
  });
});

describe('TickScheduler', () => {
  it('ticks every subscriber of a period on one beat, in join order, without drift', async () => {
    const clock = new VirtualClock(0);
    const ticks = new TickScheduler(clock);
    const seen: Array<[string, number]> = [];
    ticks.every(100, () => seen.push(['a', clock.nowMs()]));
    await clock.advance(30);
    ticks.every(100, () => seen.push(['b', clock.nowMs()]));
    await clock.advance(270);
    assert.deepEqual(seen, [
      ['a', 100],
      ['b', 100],
      ['a', 200],
      ['b', 200],
      ['a', 300],
      ['b', 300],
    ]);
    assert.equal(ticks.beats, 3, 'one timer beat per period, not one per channel');
  });

  it('a cancelled subscriber stops; the last one out disarms the grid', async () => {
    const clock = new VirtualClock(0);
    const ticks = new TickScheduler(clock);
    let a = 0;
    let b = 0;
    const ha = ticks.every(50, () => a++);
    const hb = ticks.every(50, () => b++);
    await clock.advance(50);
    ha.cancel();
    await clock.advance(100);
    assert.deepEqual([a, b], [1, 3]);
    hb.cancel();
    hb.cancel();
    assert.equal(ticks.size, 0);
    const beats = ticks.beats;
    await clock.advance(500);
    assert.equal(ticks.beats, beats);
    ticks.assertInvariants();
  });

  it('refuses a period that is not a positive integer', () => {
    const ticks = new TickScheduler(new VirtualClock(0));
    assert.throws(() => ticks.every(0, () => {}));
    assert.throws(() => ticks.every(1.5, () => {}));
  });
});
