// The benchmark summary's honesty rules: a ratio only between figures with the same guarantee
// and entry point, and the daemon targets checked against the right figures.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basisOf, incomparable } from '../../bench/basis.js';
import { DAEMON_TARGETS } from '../../bench/daemon/section.js';
import type { Figure } from '../../bench/report.js';
import { againstTarget, compare, TARGETS } from '../../bench/summary.js';

const figure = (over: Partial<Figure>): Figure => ({
  id: 'x',
  group: 'g',
  label: 'l',
  kind: 'redex',
  system: 'RedEX',
  value: 1,
  unit: 'events/s',
  better: 'higher',
  ...over,
});

const HTTP = 'HTTP/1.1 JSON request to a server, keep-alive undici Pool';
const FSYNCED = 'committed on 2 of 3, fsynced on each';

describe('bench basis', () => {
  it('takes recorded entry and guarantee as they are', () => {
    assert.deepEqual(basisOf(figure({ entry: HTTP, guarantee: FSYNCED })), {
      entry: HTTP,
      guarantee: FSYNCED,
    });
  });

  it('keeps a ratio between like local rows and drops it for tmpfs against process memory', () => {
    const redex = figure({ id: 'append.memory.single.32', system: 'RedEX, in-memory file' });
    const hc10 = figure({
      id: 'append.memory.single.32',
      kind: 'hypercore',
      system: 'hypercore 10.38.2, random-access-memory',
    });
    const hc11 = figure({
      id: 'append.memory.single.32',
      kind: 'hypercore',
      system: 'hypercore 11.39.5, tmpfs (/dev/shm)',
    });
    assert.equal(incomparable(redex, hc10), null);
    assert.equal(incomparable(redex, hc11), 'different guarantee');
  });

  it('gives no ratio between an in-process leader append and a NATS client publish', () => {
    const redex = figure({
      id: 'replication.throughput',
      system: "RedEX, 3 processes, fsync 'never'",
    });
    const js = figure({ id: 'replication.throughput', kind: 'jetstream', system: 'JetStream' });
    assert.equal(incomparable(redex, js), 'different entry point');
    const [comparison] = compare([redex, js]);
    assert.equal(comparison?.peers[0]?.advantage, null);
    assert.equal(comparison?.peers[0]?.incomparable, 'different entry point');
  });

  it('compares the daemon with etcd when both record the same basis', () => {
    const redex = figure({ id: 'daemon.writers64', value: 900, entry: HTTP, guarantee: FSYNCED });
    const etcd = figure({
      id: 'daemon.writers64',
      kind: 'etcd',
      value: 300,
      entry: HTTP,
      guarantee: FSYNCED,
    });
    const [comparison] = compare([redex, etcd]);
    assert.equal(comparison?.peers[0]?.advantage, 3);
  });
});

describe('daemon targets', () => {
  const target = (what: string) => {
    const found = DAEMON_TARGETS.find((t) => t.what.includes(what));
    assert.ok(found, what);
    return found;
  };

  it('checks the sequential p50 against 1 ms', () => {
    const p50 = target('p50');
    const at = (value: number) =>
      p50.check([figure({ id: 'daemon.sequential.p50', unit: 'ms', value })]);
    assert.equal(at(0.9)?.met, true);
    assert.equal(at(1.2)?.met, false);
    assert.equal(p50.check([]), null);
  });

  it('needs 3× etcd with the same basis for the 64-writer target', () => {
    const writers = target('64 concurrent');
    const redex = figure({ id: 'daemon.writers64', value: 900, entry: HTTP, guarantee: FSYNCED });
    const etcd = (value: number, guarantee = FSYNCED) =>
      figure({ id: 'daemon.writers64', kind: 'etcd', value, entry: HTTP, guarantee });
    assert.equal(writers.check([redex, etcd(300)])?.met, true);
    assert.equal(writers.check([redex, etcd(301)])?.met, false);
    assert.equal(writers.check([redex, etcd(100, 'not fsynced')]), null);
  });

  it('checks batches of 64 against 100k events/s', () => {
    const batch = target('batches');
    assert.equal(batch.check([figure({ id: 'daemon.batch64', value: 100_000 })])?.met, true);
    assert.equal(batch.check([figure({ id: 'daemon.batch64', value: 99_999 })])?.met, false);
  });
});

describe('quorum targets', () => {
  const byId = (id: string) => {
    const found = TARGETS.find((t) => t.id === id);
    assert.ok(found, id);
    return found;
  };

  it('holds the issue 17 item 3 figures, each in the right direction', () => {
    const expected: [string, number, 'higher' | 'lower'][] = [
      ['quorum.batch64.never', 150_000, 'higher'],
      ['quorum.writers64.always', 50_000, 'higher'],
      ['quorum.acked.p50', 0.5, 'lower'],
      ['quorum.acked.p99', 1.5, 'lower'],
      ['quorum.visible.p50', 1, 'lower'],
      ['quorum.visible.p99', 5, 'lower'],
      ['quorum.failover', 500, 'lower'],
    ];
    for (const [id, target, better] of expected) {
      assert.equal(byId(id).target, target, id);
      assert.equal(byId(id).better, better, id);
    }
  });

  it('meets a latency target at the limit and misses it just above', () => {
    const p50 = byId('quorum.acked.p50');
    assert.ok(againstTarget(0.5, p50) >= 1);
    assert.ok(againstTarget(0.51, p50) < 1);
  });
});
