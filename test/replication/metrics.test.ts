import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import {
  LAG_SECONDS_MAX,
  lagSecondsFromMs,
  METRIC_CHANNELS_MAX,
  OVERFLOW_LABEL,
  REPLICA_LABELS_PER_CHANNEL_MAX,
  ReplicationMetrics,
} from './imports.js';

/** The value of one series in the text exposition, or undefined when the series is absent. */
function seriesValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

const SPEC_NAMES = [
  'redex_replication_lag_seconds',
  'redex_replication_sync_bytes_total',
  'redex_leader_changes_total',
  'redex_replication_under_capacity_total',
  'redex_replication_skip_ahead_total',
  'redex_replication_election_thrash_total',
  'redex_replication_announce_divergence_total',
];

describe('ReplicationMetrics', () => {
  it('registers the spec names on a private registry, never the global one', async () => {
    const metrics = new ReplicationMetrics();
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of SPEC_NAMES) assert.ok(names.includes(name), name);
    for (const name of [
      'redex_channel_tail_seq',
      'redex_channel_appends_total',
      'redex_channel_append_bytes_total',
      'redex_replication_replica_confirmed_tail',
      'redex_replication_replica_lag_events',
      'redex_mesh_connected_peers',
      'redex_mesh_peer_rtt_seconds',
    ]) {
      assert.ok(names.includes(name), name);
    }
    const globalNames = (await globalRegistry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(!globalNames.some((n) => n.startsWith('redex_')));
    // A second node in the same process gets its own series.
    const other = new ReplicationMetrics();
    metrics.forChannel('a').skipAhead();
    assert.equal(
      seriesValue(await other.expose(), 'redex_replication_skip_ahead_total{channel="a"}'),
      undefined,
    );
    assert.equal(
      seriesValue(await metrics.expose(), 'redex_replication_skip_ahead_total{channel="a"}'),
      1,
    );
    assert.match(metrics.contentType, /text\/plain/);
  });

  it('counts per channel', async () => {
    const metrics = new ReplicationMetrics();
    const a = metrics.forChannel('orders/audit');
    assert.equal(metrics.forChannel('orders/audit'), a, 'one handle per channel');
    a.leaderChange();
    a.electionThrash();
    a.electionThrash();
    a.announceDivergence();
    a.underCapacity();
    a.skipAhead();
    a.syncBytes(1000);
    a.syncBytes(-5); // ignored
    a.appended(3, 96);
    a.tailSeq(42);
    const text = await metrics.expose();
    const label = '{channel="orders/audit"}';
    assert.equal(seriesValue(text, `redex_leader_changes_total${label}`), 1);
    assert.equal(seriesValue(text, `redex_replication_election_thrash_total${label}`), 2);
    assert.equal(seriesValue(text, `redex_replication_announce_divergence_total${label}`), 1);
    assert.equal(seriesValue(text, `redex_replication_under_capacity_total${label}`), 1);
    assert.equal(seriesValue(text, `redex_replication_skip_ahead_total${label}`), 1);
    assert.equal(seriesValue(text, `redex_replication_sync_bytes_total${label}`), 1000);
    assert.equal(seriesValue(text, `redex_channel_appends_total${label}`), 3);
    assert.equal(seriesValue(text, `redex_channel_append_bytes_total${label}`), 96);
    assert.equal(seriesValue(text, `redex_channel_tail_seq${label}`), 42);
    assert.deepEqual(a.snapshot(), {
      label: 'orders/audit',
      leaderChanges: 1,
      electionThrash: 2,
      announceDivergence: 1,
      underCapacity: 1,
      skipAhead: 1,
      syncBytes: 1000,
      appends: 3,
      appendBytes: 96,
      tailSeq: 42,
      leaderLagSeconds: null,
      replicaLagSeconds: null,
    });
  });

  it(`folds channels past ${METRIC_CHANNELS_MAX} into ${OVERFLOW_LABEL}`, async () => {
    const metrics = new ReplicationMetrics();
    for (let i = 0; i < METRIC_CHANNELS_MAX; i++) metrics.forChannel(`c/${i}`).skipAhead();
    assert.equal(metrics.labelledChannels, METRIC_CHANNELS_MAX);
    const late1 = metrics.forChannel('late/1');
    const late2 = metrics.forChannel('late/2');
    assert.equal(late1.label, OVERFLOW_LABEL);
    assert.equal(late2, late1, 'one shared handle');
    late1.skipAhead();
    late2.skipAhead();
    const text = await metrics.expose();
    assert.equal(
      seriesValue(text, `redex_replication_skip_ahead_total{channel="${OVERFLOW_LABEL}"}`),
      2,
    );
    assert.equal(
      seriesValue(text, 'redex_replication_skip_ahead_total{channel="late/1"}'),
      undefined,
    );
    assert.equal(seriesValue(text, 'redex_metrics_channels_folded_total'), 2);
    const series = text
      .split('\n')
      .filter((l) => l.startsWith('redex_replication_skip_ahead_total{'));
    assert.equal(series.length, METRIC_CHANNELS_MAX + 1, 'bounded label count');
    metrics.assertInvariants();

    // Releasing a channel frees its slot and its series.
    metrics.releaseChannel('c/0');
    assert.equal(metrics.labelledChannels, METRIC_CHANNELS_MAX - 1);
    assert.equal(metrics.forChannel('late/3').label, 'late/3');
    const after = await metrics.expose();
    assert.equal(
      seriesValue(after, 'redex_replication_skip_ahead_total{channel="c/0"}'),
      undefined,
    );
    metrics.releaseChannel('never-opened'); // a no-op
  });

  it('a channel literally named like the overflow label shares it instead of aliasing it', () => {
    const metrics = new ReplicationMetrics();
    assert.equal(metrics.forChannel(OVERFLOW_LABEL).label, OVERFLOW_LABEL);
    assert.equal(metrics.labelledChannels, 0);
    metrics.assertInvariants();
  });

  it('lag: absent until observed, saturated at a documented max, never confused', async () => {
    const metrics = new ReplicationMetrics();
    const ch = metrics.forChannel('x');
    const series = 'redex_replication_lag_seconds{channel="x",role="replica"}';
    assert.equal(seriesValue(await metrics.expose(), series), undefined, 'never observed = absent');
    assert.equal(ch.snapshot().replicaLagSeconds, null);

    ch.recordLag('replica', 250);
    assert.equal(seriesValue(await metrics.expose(), series), 0.25);
    ch.recordLag('replica', Number.NaN); // not an observation
    assert.equal(ch.snapshot().replicaLagSeconds, 0.25);

    for (const huge of [Number.POSITIVE_INFINITY, LAG_SECONDS_MAX * 1000, 1e300]) {
      ch.recordLag('replica', huge);
      assert.equal(seriesValue(await metrics.expose(), series), LAG_SECONDS_MAX);
      assert.equal(ch.snapshot().replicaLagSeconds, LAG_SECONDS_MAX);
    }
    ch.recordLag('replica', LAG_SECONDS_MAX * 1000 - 1);
    assert.ok(
      (ch.snapshot().replicaLagSeconds ?? Number.NaN) < LAG_SECONDS_MAX,
      'just below is not saturated',
    );

    ch.recordLag('leader', -40); // clock stepped back
    assert.equal(ch.snapshot().leaderLagSeconds, 0);

    ch.clearLag('replica');
    assert.equal(seriesValue(await metrics.expose(), series), undefined, 'back to never observed');
    assert.equal(ch.snapshot().replicaLagSeconds, null);
    assert.equal(lagSecondsFromMs(Number.NaN), null);
  });

  it('tracks replica confirmed tails and event lag, with bounded replica labels', async () => {
    const metrics = new ReplicationMetrics();
    const ch = metrics.forChannel('x');
    ch.replicaConfirmedTail(0x20n, 90, 100);
    ch.replicaConfirmedTail(0x30n, 120, 100); // ahead of a stale leader reading: lag 0
    const text = await metrics.expose();
    const r20 = '{channel="x",replica="0000000000000020"}';
    assert.equal(seriesValue(text, `redex_replication_replica_confirmed_tail${r20}`), 90);
    assert.equal(seriesValue(text, `redex_replication_replica_lag_events${r20}`), 10);
    assert.equal(
      seriesValue(
        text,
        'redex_replication_replica_lag_events{channel="x",replica="0000000000000030"}',
      ),
      0,
    );
    ch.removeReplica(0x20n);
    assert.equal(
      seriesValue(await metrics.expose(), `redex_replication_replica_confirmed_tail${r20}`),
      undefined,
    );

    for (let i = 0; i < REPLICA_LABELS_PER_CHANNEL_MAX + 10; i++)
      ch.replicaConfirmedTail(BigInt(1000 + i), 1, 2);
    const lines = (await metrics.expose())
      .split('\n')
      .filter((l) => l.startsWith('redex_replication_replica_confirmed_tail{channel="x"'));
    assert.equal(lines.length, REPLICA_LABELS_PER_CHANNEL_MAX + 1);
    assert.ok(lines.some((l) => l.includes(`replica="${OVERFLOW_LABEL}"`)));
  });

  it('tracks connected peers and RTT', async () => {
    const metrics = new ReplicationMetrics();
    metrics.setConnectedPeers(2);
    metrics.setPeerRtt(0xabn, 12);
    let text = await metrics.expose();
    assert.equal(seriesValue(text, 'redex_mesh_connected_peers'), 2);
    assert.equal(seriesValue(text, 'redex_mesh_peer_rtt_seconds{peer="00000000000000ab"}'), 0.012);
    metrics.removePeer(0xabn);
    text = await metrics.expose();
    assert.equal(
      seriesValue(text, 'redex_mesh_peer_rtt_seconds{peer="00000000000000ab"}'),
      undefined,
    );
  });

  it('labels peers and replicas by member name where one is known, by NodeId otherwise', async () => {
    const names = new Map([
      [0x20n, 'node-b'],
      [0xabn, 'node-c'],
    ]);
    const metrics = new ReplicationMetrics({ nodeName: (id) => names.get(id) ?? null });
    const ch = metrics.forChannel('x');
    ch.replicaConfirmedTail(0x20n, 7, 10);
    ch.replicaConfirmedTail(0x30n, 9, 10);
    metrics.setPeerRtt(0xabn, 4);
    let text = await metrics.expose();
    assert.equal(
      seriesValue(text, 'redex_replication_replica_lag_events{channel="x",replica="node-b"}'),
      3,
    );
    assert.equal(
      seriesValue(
        text,
        'redex_replication_replica_lag_events{channel="x",replica="0000000000000030"}',
      ),
      1,
    );
    assert.equal(seriesValue(text, 'redex_mesh_peer_rtt_seconds{peer="node-c"}'), 0.004);
    ch.removeReplica(0x20n);
    metrics.removePeer(0xabn);
    text = await metrics.expose();
    assert.doesNotMatch(text, /node-b|node-c/);
    assert.equal(metrics.nodeLabel(0x20n), 'node-b');
    assert.equal(metrics.nodeLabel(0x40n), '0000000000000040');
  });
});
