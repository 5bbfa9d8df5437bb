import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { channelId, ids } from './helpers.js';
import {
  advertisedTail,
  HeartbeatTracker,
  type NodeId,
  observeLag,
  REQUEST_ID_PLACEHOLDER,
  Role,
  SYNC_REQUEST_CHUNK_BYTES,
  SyncClass,
  type TickInput,
  tick,
} from './imports.js';

const T0 = 1_700_000_000_000;
const CID = channelId(7);

function input(overrides: Partial<TickInput> & { tracker?: HeartbeatTracker } = {}): TickInput {
  const selfId = overrides.selfId ?? 0x10n;
  return {
    role: Role.Replica,
    selfId,
    channelId: CID,
    replicaSet: ids(0x10, 0x20, 0x30),
    tracker: new HeartbeatTracker(selfId, { heartbeatMs: 500 }),
    tailSeq: 0,
    nowMs: T0,
    wallClockMs: 1_700_000_000_123,
    defaultClass: SyncClass.Foreground,
    ...overrides,
  };
}

function targets(out: ReturnType<typeof tick>, kind: 'heartbeat' | 'request'): NodeId[] {
  return out.messages.filter((m) => m.kind === kind).map((m) => m.target);
}

describe('tick', () => {
  for (const role of [Role.Candidate, Role.Idle]) {
    it(`emits nothing as ${role === Role.Idle ? 'Idle' : 'Candidate'}`, () => {
      const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 500 });
      tracker.recordHeartbeat(0x20n, Role.Leader, 99, T0 - 10_000); // silent and ahead
      const out = tick(input({ role, tracker, nowMs: T0 + 10_000 }));
      assert.deepEqual(out, { messages: [] });
    });
  }

  it('heartbeats every other member as Leader, with role, tail and wall clock', () => {
    const out = tick(
      input({ role: Role.Leader, tailSeq: 42, replicaSet: ids(0x10, 0x20, 0x30, 0x40) }),
    );
    assert.deepEqual(targets(out, 'heartbeat'), ids(0x20, 0x30, 0x40));
    for (const m of out.messages) {
      assert.deepEqual(m.message, {
        kind: 'heartbeat',
        channelId: CID,
        tailSeq: 42,
        role: Role.Leader,
        wallClockMs: 1_700_000_000_123,
      });
    }
  });

  it('heartbeats as Replica; skips self and duplicates', () => {
    const out = tick(input({ selfId: 0x20n, replicaSet: ids(0x10, 0x20, 0x10, 0x30, 0x20) }));
    assert.deepEqual(targets(out, 'heartbeat'), ids(0x10, 0x30));
    assert.equal(
      out.messages[0]?.message.kind === 'heartbeat' && out.messages[0].message.role,
      Role.Replica,
    );
  });

  it('a solitary member sends nothing', () => {
    assert.deepEqual(tick(input({ role: Role.Leader, replicaSet: ids(0x10) })).messages, []);
  });

  it('asks a non-silent leader that is ahead, from its own tail, 256 KiB, default class', () => {
    const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 500 });
    tracker.recordHeartbeat(0x20n, Role.Leader, 50, T0);
    tracker.believe(0x20n); // the quorum logic follows it (a current-epoch Leader heartbeat)
    let minted = 0;
    const out = tick(
      input({
        tracker,
        tailSeq: 7,
        nowMs: T0 + 100,
        defaultClass: SyncClass.Background,
        nextRequestId: () => BigInt(++minted) * 1000n,
      }),
    );
    const requests = out.messages.filter((m) => m.kind === 'request');
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0], {
      kind: 'request',
      target: 0x20n,
      message: {
        kind: 'request',
        channelId: CID,
        sinceSeq: 7,
        chunkMax: SYNC_REQUEST_CHUNK_BYTES,
        requestId: 1000n,
        syncClass: SyncClass.Background,
      },
    });
    assert.equal(SYNC_REQUEST_CHUNK_BYTES, 262_144);
    assert.equal(minted, 1);
  });

  it('uses the placeholder request id when no minting function is given', () => {
    const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 500 });
    tracker.recordHeartbeat(0x20n, Role.Leader, 50, T0);
    tracker.believe(0x20n); // the quorum logic follows it (a current-epoch Leader heartbeat)
    const out = tick(input({ tracker }));
    const request = out.messages.find((m) => m.kind === 'request');
    assert.equal(
      request?.message.kind === 'request' && request.message.requestId,
      REQUEST_ID_PLACEHOLDER,
    );
  });

  it('sends no request when caught up or ahead', () => {
    const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 500 });
    tracker.recordHeartbeat(0x20n, Role.Leader, 50, T0);
    tracker.believe(0x20n); // the quorum logic follows it (a current-epoch Leader heartbeat)
    let minted = 0;
    for (const tailSeq of [50, 51]) {
      const out = tick(input({ tracker, tailSeq, nextRequestId: () => BigInt(++minted) }));
      assert.deepEqual(targets(out, 'request'), []);
    }
    assert.equal(minted, 0, 'no id minted when nothing is sent');
  });

  it('never sends a request to itself', () => {
    // A tracker built for another id can hold a heartbeat "from" this node; tick must still
    // refuse to address it.
    const foreign = new HeartbeatTracker(0x99n, { heartbeatMs: 500 });
    foreign.recordHeartbeat(0x10n, Role.Leader, 100, T0);
    foreign.believe(0x10n);
    const out = tick(input({ tracker: foreign, tailSeq: 0 }));
    assert.deepEqual(targets(out, 'request'), []);
    assert.ok(out.messages.every((m) => m.target !== 0x10n));
  });

  it('property: never addresses self, never sends from Candidate or Idle, at most one request', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(Role.Leader, Role.Replica, Role.Candidate, Role.Idle),
        fc.array(fc.bigInt({ min: 1n, max: 6n }), { maxLength: 8 }),
        fc.array(
          fc.record({
            from: fc.bigInt({ min: 1n, max: 6n }),
            role: fc.constantFrom(Role.Leader, Role.Replica),
            tail: fc.nat({ max: 20 }),
            at: fc.nat({ max: 3000 }),
          }),
          { maxLength: 10 },
        ),
        fc.nat({ max: 20 }),
        fc.nat({ max: 4000 }),
        (role, replicaSet, beats, tailSeq, now) => {
          const selfId = 1n;
          const tracker = new HeartbeatTracker(99n, { heartbeatMs: 500 }); // may record "self" on purpose
          for (const b of beats) {
            tracker.recordHeartbeat(b.from, b.role, b.tail, T0 + b.at);
            if (b.role === Role.Leader) tracker.believe(b.from);
          }
          const out = tick(input({ role, selfId, replicaSet, tracker, tailSeq, nowMs: T0 + now }));
          assert.ok(out.messages.every((m) => m.target !== selfId));
          if (role === Role.Candidate || role === Role.Idle) assert.equal(out.messages.length, 0);
          assert.ok(out.messages.filter((m) => m.kind === 'request').length <= 1);
        },
      ),
    );
  });
});

describe('advertisedTail and observeLag', () => {
  it('a leader advertises at most the highest peer-confirmed tail', () => {
    const peers: [bigint, number][] = [
      [0x20n, 50],
      [0x30n, 40],
    ];
    assert.equal(advertisedTail(Role.Leader, 100, peers, 0x10n), 50);
    assert.equal(advertisedTail(Role.Leader, 30, peers, 0x10n), 30, 'never above the local tail');
    assert.equal(advertisedTail(Role.Leader, 77, [], 0x10n), 77, 'no peer report: local tail');
    assert.equal(advertisedTail(Role.Leader, 77, [[0x10n, 5]], 0x10n), 77, 'self is not a peer');
    assert.equal(advertisedTail(Role.Replica, 100, peers, 0x10n), 100);
  });

  it('a leader reports its worst replica, skipping self and peers never heard from', () => {
    const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 500 });
    assert.equal(observeLag(Role.Leader, ids(0x10, 0x20, 0x30), 0x10n, tracker, T0), null);
    tracker.recordHeartbeat(0x20n, Role.Replica, 0, T0);
    tracker.recordHeartbeat(0x30n, Role.Replica, 0, T0 + 100);
    assert.deepEqual(
      observeLag(Role.Leader, ids(0x10, 0x20, 0x30, 0x40), 0x10n, tracker, T0 + 1000),
      {
        role: 'leader',
        lagMs: 1000,
      },
    );
  });

  it('a replica reports its believed leader; Candidate and Idle report nothing', () => {
    const tracker = new HeartbeatTracker(0x10n, { heartbeatMs: 500 });
    assert.equal(observeLag(Role.Replica, ids(0x10, 0x42), 0x10n, tracker, T0), null);
    tracker.recordHeartbeat(0x42n, Role.Leader, 99, T0);
    assert.equal(observeLag(Role.Replica, ids(0x10, 0x42), 0x10n, tracker, T0), null, 'no belief');
    tracker.believe(0x42n);
    assert.deepEqual(observeLag(Role.Replica, ids(0x10, 0x42), 0x10n, tracker, T0 + 250), {
      role: 'replica',
      lagMs: 250,
    });
    assert.equal(observeLag(Role.Candidate, ids(0x10, 0x42), 0x10n, tracker, T0), null);
    assert.equal(observeLag(Role.Idle, ids(0x10, 0x42), 0x10n, tracker, T0), null);
  });
});
