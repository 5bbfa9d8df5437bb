// A model check of the quorum decisions alone: nodes made of a `ChannelQuorum` and a log (an
// array), exchanging the protocol's messages over a network that drops, delays, reorders and
// partitions, with crashes that keep what was made durable. Random schedules from a seed; the
// safety properties are checked after every step, convergence and durability at the end.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ChannelQuorum,
  type QuorumEffect,
  type QuorumRole,
} from '../../../src/replication/quorum/channel-quorum.js';
import type { EpochEntry } from '../../../src/replication/quorum/epoch-history.js';

const HEARTBEAT_MS = 100;
const SILENCE_MS = 300;
const CHUNK_EVENTS = 3;

interface Entry {
  readonly epoch: number;
  readonly payload: string;
}

type Message =
  | {
      kind: 'heartbeat';
      leader: boolean;
      tail: number;
      epoch: number;
      lastEpoch: number;
      commit: number;
    }
  | { kind: 'fetch'; since: number; epoch: number; lastFetchedEpoch: number; generation: number }
  | {
      kind: 'response';
      first: number;
      events: Entry[];
      epoch: number;
      commit: number;
      runs: EpochEntry[];
    }
  | { kind: 'diverged'; since: number; divergingEpoch: number; endSeq: number; generation: number }
  | { kind: 'vote-request'; epoch: number; lastEpoch: number; nextSeq: number; preVote: boolean }
  | { kind: 'vote-response'; epoch: number; granted: boolean; preVote: boolean };

interface Envelope {
  readonly from: bigint;
  readonly to: bigint;
  readonly message: Message;
  readonly deliverAt: number;
}

interface ModelNode {
  readonly id: bigint;
  up: boolean;
  role: QuorumRole;
  quorum: ChannelQuorum;
  log: Entry[];
  durable: { epoch: number; votedFor: bigint | null; history: EpochEntry[] };
  lastCommit: number;
  /** Bumped at every truncation: answers to requests sent before it are stale (request tokens). */
  generation: number;
}

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Model {
  readonly nodes: ModelNode[];
  readonly ids: bigint[];
  now = 0;
  network: Envelope[] = [];
  /** Pairs that cannot talk ("a>b"). */
  cut = new Set<string>();
  readonly leaders = new Map<number, bigint>();
  readonly committed = new Map<number, string>();
  /** Appends acknowledged at quorum: payload → seq. */
  readonly acked = new Map<string, number>();
  readonly pending = new Map<string, { seq: number; epoch: number; node: bigint }>();
  nextPayload = 0;
  readonly random: () => number;

  constructor(size: number, seed: number) {
    this.random = prng(seed);
    this.ids = Array.from({ length: size }, (_, i) => BigInt(i + 1));
    this.nodes = this.ids.map((id) => {
      const durable = { epoch: 0, votedFor: null, history: [] };
      return {
        id,
        up: true,
        role: 'replica',
        quorum: this.#quorum(id, durable),
        log: [],
        durable,
        lastCommit: 0,
        generation: 0,
      };
    });
  }

  #quorum(id: bigint, durable: ModelNode['durable']): ChannelQuorum {
    return new ChannelQuorum({
      selfId: id,
      replicaSet: this.ids,
      heartbeatMs: HEARTBEAT_MS,
      silenceMs: SILENCE_MS,
      durable,
      mayVote: true,
      nowMs: this.now,
    });
  }

  node(id: bigint): ModelNode {
    return this.nodes.find((n) => n.id === id) as ModelNode;
  }

  send(from: bigint, to: bigint, message: Message, faults: boolean): void {
    if (faults && this.random() < 0.05) return; // loss
    const delay = faults ? Math.floor(this.random() * 60) + 1 : 1;
    this.network.push({ from, to, message, deliverAt: this.now + delay });
    if (faults && this.random() < 0.02)
      this.network.push({ from, to, message, deliverAt: this.now + delay + 5 });
  }

  perform(node: ModelNode, effects: QuorumEffect[], faults: boolean): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'persist-vote':
          node.durable.epoch = effect.epoch;
          node.durable.votedFor = effect.votedFor;
          break;
        case 'persist-epoch-start':
        case 'persist-history-truncate':
          node.durable.history = [...node.quorum.history.entries];
          break;
        case 'truncate-log':
          assert.ok(effect.fromSeq >= node.quorum.commitSeq, 'truncation below commit');
          node.log.length = effect.fromSeq;
          node.generation++;
          this.perform(node, node.quorum.afterTruncate(effect.fromSeq), faults);
          break;
        case 'send-vote-request':
          this.send(
            node.id,
            effect.to,
            {
              kind: 'vote-request',
              epoch: effect.epoch,
              lastEpoch: effect.lastEpoch,
              nextSeq: effect.nextSeq,
              preVote: effect.preVote,
            },
            faults,
          );
          break;
        case 'send-vote-response':
          this.send(
            node.id,
            effect.to,
            {
              kind: 'vote-response',
              epoch: effect.epoch,
              granted: effect.granted,
              preVote: effect.preVote,
            },
            faults,
          );
          break;
        case 'become':
          node.role = effect.role;
          if (effect.role === 'leader') {
            const other = this.leaders.get(node.quorum.epoch);
            assert.ok(
              other === undefined || other === node.id,
              `two leaders in epoch ${node.quorum.epoch}`,
            );
            this.leaders.set(node.quorum.epoch, node.id);
          }
          break;
        case 'leadership-lost':
          for (const [payload, p] of this.pending) {
            if (p.node === node.id && p.epoch === effect.epoch) this.pending.delete(payload);
          }
          break;
        case 'commit':
          this.#settleAcks(node);
          break;
      }
    }
    this.#checkNode(node);
  }

  #settleAcks(node: ModelNode): void {
    if (node.role !== 'leader') return;
    for (const [payload, p] of this.pending) {
      if (p.node === node.id && p.epoch === node.quorum.epoch && p.seq < node.quorum.commitSeq) {
        this.pending.delete(payload);
        this.acked.set(payload, p.seq);
      }
    }
  }

  #checkNode(node: ModelNode): void {
    const commit = node.quorum.commitSeq;
    assert.ok(commit >= node.lastCommit, 'commit went back');
    node.lastCommit = commit;
    assert.ok(commit <= node.log.length || node.role !== 'leader', 'leader commit past its log');
    for (let seq = 0; seq < Math.min(commit, node.log.length); seq++) {
      const payload = (node.log[seq] as Entry).payload;
      const known = this.committed.get(seq);
      if (known === undefined) this.committed.set(seq, payload);
      else
        assert.equal(
          payload,
          known,
          `node ${node.id} holds ${payload} at committed seq ${seq} (was ${known})`,
        );
    }
    assert.equal(node.quorum.counters.sameEpochLeaders, 0);
    assert.equal(node.quorum.counters.truncationBelowCommitRefused, 0);
  }

  roleCheck(): void {
    for (const node of this.nodes) {
      if (node.up) node.quorum.assertInvariants(node.role, node.log.length);
    }
  }

  append(faults: boolean): void {
    const leaders = this.nodes.filter((n) => n.up && n.role === 'leader');
    const leader = leaders[Math.floor(this.random() * leaders.length)];
    if (leader === undefined) return;
    const payload = `p${this.nextPayload++}`;
    leader.log.push({ epoch: leader.quorum.epoch, payload });
    this.pending.set(payload, {
      seq: leader.log.length - 1,
      epoch: leader.quorum.epoch,
      node: leader.id,
    });
    this.perform(leader, leader.quorum.onLocalAppend(leader.log.length), faults);
  }

  tick(node: ModelNode, faults: boolean): void {
    if (!node.up) return;
    const livePeers = this.nodes
      .filter((n) => n.id !== node.id && n.up && !this.cut.has(`${n.id}>${node.id}`))
      .map((n) => ({
        nodeId: n.id,
        lastEpoch: n.quorum.lastEpoch(n.log.length),
        nextSeq: n.log.length,
      }));
    const jitterMs = Math.floor(this.random() * HEARTBEAT_MS);
    this.perform(
      node,
      node.quorum.tick({
        role: node.role,
        nextSeq: node.log.length,
        nowMs: this.now,
        livePeers,
        jitterMs,
      }),
      faults,
    );
    const q = node.quorum;
    for (const peer of q.peers) {
      this.send(
        node.id,
        peer,
        {
          kind: 'heartbeat',
          leader: node.role === 'leader',
          tail: node.log.length,
          epoch: q.epoch,
          lastEpoch: q.lastEpoch(node.log.length),
          commit: q.commitSeq,
        },
        faults,
      );
    }
    if (node.role === 'replica' && q.leader !== null && q.leader !== node.id)
      this.#fetch(node, q.leader, faults);
  }

  #fetch(node: ModelNode, leader: bigint, faults: boolean): void {
    const since = node.log.length;
    this.send(
      node.id,
      leader,
      {
        kind: 'fetch',
        since,
        epoch: node.quorum.epoch,
        lastFetchedEpoch: node.quorum.lastEpoch(since),
        generation: node.generation,
      },
      faults,
    );
  }

  deliver(envelope: Envelope, faults: boolean): void {
    const node = this.node(envelope.to);
    if (!node.up || this.cut.has(`${envelope.from}>${envelope.to}`)) return;
    const { from, message } = envelope;
    const q = node.quorum;
    const base = { from, role: node.role, nextSeq: node.log.length, nowMs: this.now };
    switch (message.kind) {
      case 'heartbeat': {
        const out = q.onHeartbeat({
          ...base,
          claimsLeader: message.leader,
          tailSeq: message.tail,
          epochs: { epoch: message.epoch, lastEpoch: message.lastEpoch, commitSeq: message.commit },
        });
        this.perform(node, out.effects, faults);
        if (out.fromLiveLeader && node.role === 'replica' && message.tail !== node.log.length)
          this.#fetch(node, from, faults);
        return;
      }
      case 'fetch': {
        const out = q.onFetch({
          ...base,
          sinceSeq: message.since,
          epochs: { epoch: message.epoch, lastFetchedEpoch: message.lastFetchedEpoch },
        });
        this.perform(node, out.effects, faults);
        if (out.diverged !== null) {
          this.send(
            node.id,
            from,
            {
              kind: 'diverged',
              since: message.since,
              generation: message.generation,
              ...out.diverged,
            },
            faults,
          );
        } else if (out.serve && message.since <= node.log.length) {
          const end = Math.min(node.log.length, message.since + CHUNK_EVENTS);
          this.send(
            node.id,
            from,
            {
              kind: 'response',
              first: message.since,
              events: node.log.slice(message.since, end),
              epoch: q.epoch,
              commit: q.commitSeq,
              runs: q.runsFor(message.since, end),
            },
            faults,
          );
        }
        return;
      }
      case 'response': {
        const before = q.beforeApply({
          ...base,
          epochs: { epoch: message.epoch, commitSeq: message.commit, runs: message.runs },
        });
        this.perform(node, before.effects, faults);
        if (!before.accept || node.role !== 'replica' || q.leader !== from) return;
        if (message.first !== node.log.length) return; // stale chunk
        for (const [i, event] of message.events.entries()) {
          assert.equal(
            q.history.epochOf(message.first + i),
            event.epoch,
            'runs disagree with the events',
          );
          node.log.push(event);
        }
        this.perform(node, q.afterApply(node.log.length, message.commit), faults);
        if (message.events.length > 0) this.#fetch(node, from, faults);
        return;
      }
      case 'diverged': {
        if (q.leader !== from || node.role !== 'replica') return;
        if (message.generation !== node.generation) return; // its token was forgotten
        this.perform(
          node,
          q.onDiverged({ ...message, sinceSeq: message.since, nextSeq: node.log.length }),
          faults,
        );
        this.#fetch(node, from, faults);
        return;
      }
      case 'vote-request':
        this.perform(
          node,
          q.onVoteRequest({
            ...base,
            ask: {
              epoch: message.epoch,
              lastEpoch: message.lastEpoch,
              nextSeq: message.nextSeq,
              preVote: message.preVote,
              transfer: false,
            },
          }),
          faults,
        );
        return;
      case 'vote-response':
        this.perform(
          node,
          q.onVoteResponse({
            ...base,
            epoch: message.epoch,
            granted: message.granted,
            preVote: message.preVote,
          }),
          faults,
        );
        return;
    }
  }

  crash(node: ModelNode): void {
    node.up = false;
  }

  restart(node: ModelNode): void {
    node.up = true;
    node.role = 'replica';
    const history = node.durable.history.filter((entry) => entry.startSeq < node.log.length);
    node.durable.history = history;
    node.quorum = this.#quorum(node.id, node.durable);
    node.lastCommit = 0;
    for (const [payload, p] of this.pending) if (p.node === node.id) this.pending.delete(payload);
  }

  /** Advances time by `ms`, delivering due messages and ticking every node each period. */
  run(ms: number, faults: boolean): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 5;
      const due = this.network.filter((e) => e.deliverAt <= this.now);
      this.network = this.network.filter((e) => e.deliverAt > this.now);
      if (faults) due.sort(() => this.random() - 0.5);
      for (const envelope of due) this.deliver(envelope, faults);
      if (this.now % HEARTBEAT_MS === 0) for (const node of this.nodes) this.tick(node, faults);
      this.roleCheck();
    }
  }
}

export function playSeed(seed: number, size: number, rounds: number): Model {
  const model = new Model(size, seed);
  const r = model.random;
  for (let round = 0; round < rounds; round++) {
    const dice = r();
    if (dice < 0.5) {
      const count = 1 + Math.floor(r() * 3);
      for (let i = 0; i < count; i++) model.append(true);
    } else if (dice < 0.6) {
      const node = model.nodes[Math.floor(r() * size)] as ModelNode;
      if (node.up) model.crash(node);
      else model.restart(node);
    } else if (dice < 0.7) {
      model.cut.clear();
      const isolated = model.ids[Math.floor(r() * size)] as bigint;
      for (const other of model.ids) {
        if (other === isolated) continue;
        if (r() < 0.8) model.cut.add(`${isolated}>${other}`);
        if (r() < 0.8) model.cut.add(`${other}>${isolated}`);
      }
    } else if (dice < 0.75) {
      model.cut.clear();
    }
    model.run(20 + Math.floor(r() * 200), true);
  }
  // Heal: everyone up, no cuts, no faults; the set must converge.
  model.cut.clear();
  for (const node of model.nodes) if (!node.up) model.restart(node);
  model.run(4_000, false);
  return model;
}

export function assertConverged(model: Model, seed: number): void {
  const leaders = model.nodes.filter((n) => n.role === 'leader');
  assert.equal(leaders.length, 1, `seed ${seed}: one leader after heal`);
  const leader = leaders[0] as ModelNode;
  model.append(false);
  model.run(2_000, false);
  const reference = JSON.stringify(leader.log);
  for (const node of model.nodes) {
    assert.equal(JSON.stringify(node.log), reference, `seed ${seed}: node ${node.id} log differs`);
  }
  for (const [payload, seq] of model.acked) {
    assert.equal(
      leader.log[seq]?.payload,
      payload,
      `seed ${seed}: acknowledged ${payload} lost at ${seq}`,
    );
  }
  const seen = new Set<string>();
  for (const entry of leader.log) {
    assert.ok(!seen.has(entry.payload), `seed ${seed}: ${entry.payload} twice`);
    seen.add(entry.payload);
  }
}

describe('quorum model', () => {
  it('three nodes elect one leader, replicate and commit', () => {
    const model = new Model(3, 1);
    model.run(1_000, false);
    const leaders = model.nodes.filter((n) => n.role === 'leader');
    assert.equal(leaders.length, 1);
    for (let i = 0; i < 5; i++) model.append(false);
    model.run(500, false);
    assert.equal(model.acked.size, 5);
    for (const node of model.nodes) assert.equal(node.quorum.commitSeq, 5);
    assert.equal((leaders[0] as ModelNode).quorum.epoch, 1);
  });

  it('an isolated replica neither leads nor raises its epoch; the leader keeps its epoch', () => {
    const model = new Model(3, 2);
    model.run(1_000, false);
    const leader = model.nodes.find((n) => n.role === 'leader') as ModelNode;
    const lonely = model.nodes.find((n) => n.role !== 'leader') as ModelNode;
    for (const other of model.ids) {
      if (other === lonely.id) continue;
      model.cut.add(`${lonely.id}>${other}`);
      model.cut.add(`${other}>${lonely.id}`);
    }
    model.run(10_000, false);
    assert.equal(lonely.role, 'replica');
    assert.equal(lonely.quorum.epoch, 1);
    model.cut.clear();
    model.run(1_000, false);
    assert.equal(leader.role, 'leader');
    assert.equal(leader.quorum.epoch, 1);
  });

  it('a leader cut off from the majority steps down; the majority elects a new one', () => {
    const model = new Model(3, 3);
    model.run(1_000, false);
    const leader = model.nodes.find((n) => n.role === 'leader') as ModelNode;
    for (const other of model.ids) {
      if (other === leader.id) continue;
      model.cut.add(`${leader.id}>${other}`);
      model.cut.add(`${other}>${leader.id}`);
    }
    model.append(false); // never acknowledged
    model.run(2_000, false);
    assert.equal(leader.role, 'replica');
    const next = model.nodes.filter((n) => n.role === 'leader');
    assert.equal(next.length, 1);
    assert.equal((next[0] as ModelNode).quorum.epoch, 2);
    assert.equal(model.acked.size, 0);
    model.append(false);
    model.cut.clear();
    model.run(2_000, false);
    assertConverged(model, 3);
  });

  it("figure 8: an earlier epoch's event on a majority is not committed until the epoch's own is", () => {
    const model = new Model(5, 8);
    const isolate = (keep: readonly ModelNode[]) => {
      model.cut.clear();
      for (const a of model.ids) {
        for (const b of model.ids) {
          const inside = (id: bigint) => keep.some((n) => n.id === id);
          if (a !== b && !(inside(a) && inside(b))) model.cut.add(`${a}>${b}`);
        }
      }
    };
    const leaderAmong = (group: readonly ModelNode[]) => {
      const leaders = group.filter((n) => n.up && n.role === 'leader');
      assert.equal(leaders.length, 1, 'one leader in the group');
      return leaders[0] as ModelNode;
    };
    model.run(1_000, false);
    const first = leaderAmong(model.nodes);
    const [holder, ...rest] = model.nodes.filter((n) => n !== first) as [ModelNode, ...ModelNode[]];
    // (a) The first leader gets X to one other node only, then dies.
    isolate([first, holder]);
    model.append(false);
    model.run(150, false);
    const xSeq = first.log.length - 1;
    assert.equal(holder.log[xSeq]?.payload, first.log[xSeq]?.payload);
    model.crash(first);
    // (b) The three others elect a leader, which writes Y at the same seq and dies at once.
    isolate(rest);
    model.run(1_500, false);
    const second = leaderAmong(rest);
    model.append(false);
    model.crash(second);
    const others = rest.filter((n) => n !== second);
    // (c) The first leader returns; with the holder and the two left it leads again and copies X
    // to a majority — X is from an earlier epoch, so it must not count as committed.
    model.restart(first);
    isolate([first, holder, ...others]);
    model.run(2_000, false);
    const third = leaderAmong([first, holder, ...others]);
    assert.ok(others.every((n) => n.log[xSeq]?.payload === first.log[xSeq]?.payload));
    assert.ok(third.quorum.commitSeq <= xSeq, 'an old-epoch event on a majority is not committed');
    // (d) Both X holders die; the Y writer returns and wins with the two others, replacing X.
    model.crash(first);
    model.crash(holder);
    model.restart(second);
    isolate([second, ...others]);
    model.run(2_000, false);
    assert.equal(leaderAmong([second, ...others]), second);
    assert.ok(others.every((n) => n.log[xSeq]?.payload === second.log[xSeq]?.payload));
  });

  it('random schedules keep every safety property and converge (3 and 5 nodes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(3, 5), (seed, size) => {
        const model = playSeed(seed, size, 60);
        assertConverged(model, seed);
      }),
      { numRuns: 60 },
    );
  });
});
