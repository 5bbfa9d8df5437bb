// The "Through the daemon" section of docs/BENCHMARKS.md, from bench/results/daemon.json: every
// row with its guarantee and entry point, a ratio to etcd only where both are equal, and the
// daemon targets marked met or not met.

import { basisOf, incomparable } from '../basis.js';
import type { Figure } from '../report.js';

interface DaemonDocument {
  readonly date: string;
  readonly figures?: readonly Figure[];
  readonly skipped?: string;
  readonly rounds?: number;
}

interface DaemonTarget {
  readonly what: string;
  readonly target: string;
  /** The measured text and whether it meets the target; null when not measured. */
  readonly check: (figures: readonly Figure[]) => { text: string; met: boolean } | null;
}

const find = (figures: readonly Figure[], id: string, kind: Figure['kind']): Figure | undefined =>
  figures.find((f) => f.id === id && f.kind === kind);

function atMost(id: string, limitMs: number): DaemonTarget['check'] {
  return (figures) => {
    const f = find(figures, id, 'redex');
    return f === undefined ? null : { text: `${f.value} ms`, met: f.value <= limitMs };
  };
}

export const DAEMON_TARGETS: readonly DaemonTarget[] = [
  {
    what: "sequential quorum-acked append, fsync 'always', p50",
    target: '≤ 1.0 ms',
    check: atMost('daemon.sequential.p50', 1),
  },
  {
    what: "sequential quorum-acked append, fsync 'always', p99",
    target: '≤ 3 ms',
    check: atMost('daemon.sequential.p99', 3),
  },
  {
    what: '64 concurrent writers, appends/s against etcd puts/s (same run)',
    target: '≥ 3× etcd',
    check: (figures) => {
      const redex = find(figures, 'daemon.writers64', 'redex');
      const etcd = find(figures, 'daemon.writers64', 'etcd');
      if (redex === undefined || etcd === undefined || incomparable(redex, etcd) !== null) {
        return null;
      }
      const ratio = redex.value / etcd.value;
      return {
        text: `${Math.round(redex.value).toLocaleString('en')} vs ${Math.round(etcd.value).toLocaleString('en')}/s = ${ratio.toFixed(2)}×`,
        met: ratio >= 3,
      };
    },
  },
  {
    what: 'batches of 64 events per request',
    target: '≥ 100k events/s',
    check: (figures) => {
      const f = find(figures, 'daemon.batch64', 'redex');
      return f === undefined
        ? null
        : { text: `${Math.round(f.value).toLocaleString('en')} events/s`, met: f.value >= 100_000 };
    },
  },
];

const mdEscape = (text: string): string => text.replaceAll('|', '\\|');

function formatValue(figure: Figure): string {
  if (figure.unit === 'ms') return `${figure.value} ms`;
  return `${Math.round(figure.value).toLocaleString('en')} ${figure.unit}`;
}

/** RedEX's advantage over `peer` (> 1: RedEX better), or why there is none. */
function ratioCell(redex: Figure | undefined, peer: Figure): string {
  if (peer.kind === 'redex') return '—';
  if (redex === undefined) return '—';
  const why = incomparable(redex, peer);
  if (why !== null) return `no ratio: ${why}`;
  const ratio = redex.better === 'higher' ? redex.value / peer.value : peer.value / redex.value;
  return ratio >= 1 ? `${ratio.toFixed(2)}× better` : `${(1 / ratio).toFixed(2)}× worse`;
}

function rowsTable(figures: readonly Figure[]): string[] {
  const lines = [
    '| measurement | system | guarantee · entry point | median | RedEX vs this |',
    '|---|---|---|---:|---:|',
  ];
  const ids: string[] = [];
  for (const f of figures) if (!ids.includes(f.id)) ids.push(f.id);
  for (const id of ids) {
    const same = figures.filter((f) => f.id === id);
    const redex = same.find((f) => f.kind === 'redex');
    same.forEach((f, index) => {
      const basis = basisOf(f);
      const system = f.kind === 'redex' ? `**${f.system}**` : f.system;
      const note = f.note === undefined ? '' : ` <br><sub>${f.note}</sub>`;
      lines.push(
        `| ${index === 0 ? mdEscape(f.label) : ''} | ${mdEscape(system + note)} | ${basis === null ? '?' : mdEscape(`${basis.guarantee} · ${basis.entry}`)} | ${formatValue(f)} | ${ratioCell(redex, f)} |`,
      );
    });
  }
  return lines;
}

export function daemonSection(
  doc: DaemonDocument | null,
  profileNotes: readonly string[],
): string[] {
  const intro = [
    '## Through the daemon',
    '',
    'RedEX as an application calls it: three `redex serve` processes on loopback (one config file',
    "each, mesh over mutual TLS), a persistent channel with `fsync: 'always'` and",
    '`replication: { factor: 3, heartbeatMs: 100 }`, written with `POST /channels/bench/events?acks=quorum`',
    '(answered once 2 of 3 nodes hold the events, each fsynced: no failover can lose them) from a',
    'keep-alive undici `Pool` in the benchmark process, 256 B payloads (`bench/daemon.bench.ts`).',
    "Beside it, in the same run: **etcd** (Debian's `etcd-server`, 3 members,",
    '`--heartbeat-interval=100 --election-timeout=1000`, peers over mutual TLS), written through its',
    'HTTP/JSON gateway (`POST /v3/kv/put`, base64 key and value) with the same Pool client — a put',
    'is answered once committed on 2 of 3 with its WAL fsynced, the same promise, so these rows get',
    'a ratio; RedEX and etcd rounds alternate on clusters running side by side. **NATS JetStream**',
    '(R3 file stream, `js.publish` through the NATS client over TCP) is shown for reference without',
    'a ratio: its entry point differs and nats-server 2.9 does not fsync each message.',
    'Failover: a fresh cluster per round, SIGKILL of the leader, then writes until one is',
    'accepted (RedEX: alternating between the two survivors; etcd: a client on a survivor, which',
    'forwards to the new leader; JetStream: a client on the survivors).',
    '',
  ];
  if (doc === null) {
    return [...intro, '_Not run yet: `npm run bench:daemon`._', ''];
  }
  const figures = doc.figures ?? [];
  const targets = [
    '| daemon target | RedEX (this run) | target | met |',
    '|---|---:|---:|:-:|',
    ...DAEMON_TARGETS.map((t) => {
      const result = t.check(figures);
      return `| ${mdEscape(t.what)} | ${result === null ? 'not measured' : mdEscape(result.text)} | ${t.target} | ${result === null ? '—' : result.met ? 'yes' : '**no**'} |`;
    }),
  ];
  return [
    ...intro,
    `Run ${doc.date.slice(0, 16).replace('T', ' ')} UTC${doc.rounds === undefined ? '' : `, ${doc.rounds} rounds per row`}.`,
    ...(doc.skipped === undefined ? [] : ['', `**Skipped:** ${doc.skipped}`]),
    '',
    ...targets,
    '',
    ...rowsTable(figures),
    '',
    ...profileNotes,
  ];
}
