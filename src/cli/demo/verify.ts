// The checks after a drill or a fault test: read every node's whole log over HTTP and judge it
// against what the writers were told. The rules:
//
// - every acknowledged event is at its seq, byte for byte, on every node (else it is lost);
// - the logs are identical: the same range and the same bytes at every seq;
// - no payload is stored twice (every attempt sends fresh payloads, so a copy is a duplicate);
// - every stored payload was acknowledged or had an unknown outcome: never one whose append
//   failed for sure, never one nobody sent.
//
// Logs hold payload bytes only: a replica stamps its own append times, so timestamps may differ.

import { request } from './writer.js';

/** Events per page when a log is read back (the API's largest page). */
const READ_PAGE_EVENTS = 10_000;
const READ_PAGE_BYTES = 4_194_304;
const READ_TIMEOUT_MS = 10_000;
/** Examples kept per kind of problem. */
export const PROBLEM_EXAMPLES_MAX = 10;
const SHOWN_TEXT_CHARS = 32;
const SHOWN_HEX_BYTES = 12;

export interface NodeLog {
  readonly name: string;
  readonly firstSeq: number | null;
  readonly nextSeq: number;
  readonly events: ReadonlyMap<number, Uint8Array>;
}

/** What the writers were told: a `DemoWriter` recording with `record: true` is one. */
export interface WriteHistory {
  /** seq → payload of every acknowledged event. */
  readonly acked: ReadonlyMap<number, string>;
  /** Payloads of appends that stored nothing for sure. */
  readonly failed: ReadonlySet<string>;
  /** Payloads of appends whose outcome is unknown. */
  readonly unknown: ReadonlySet<string>;
  /** Seqs acknowledged twice, for different payloads. */
  readonly conflicts: readonly AckConflict[];
}

/** Two acknowledgements of one seq for different payloads: at least one of them is lost. */
export interface AckConflict {
  readonly seq: number;
  readonly first: string;
  readonly second: string;
}

export interface Verdict {
  readonly ackedEvents: number;
  /** (acknowledged event, node) pairs where the node lacks it at its seq, plus conflicting acks. */
  readonly lost: number;
  /** Acknowledged events missing or different on at least one node (conflicting acks count). */
  readonly lostEvents: number;
  /** Seqs at which the nodes do not hold the same bytes (or one holds nothing). */
  readonly divergentSeqs: number;
  /** (node, payload) pairs stored at more than one seq. */
  readonly duplicates: number;
  /** (node, payload) pairs stored though their append failed for sure, or never sent. */
  readonly unexpected: number;
  /** Distinct payloads of unknown outcome that some node stores. */
  readonly unknownStored: number;
  /** Examples of every problem above: seq, node, expected and found bytes. */
  readonly problems: readonly string[];
  readonly ok: boolean;
}

/** A node's whole log as of the first page's tail, in pages, payloads as bytes. */
export async function readLog(url: string, name: string, channel: string): Promise<NodeLog> {
  const path = `/channels/${encodeURIComponent(channel)}/events`;
  const events = new Map<number, Uint8Array>();
  let from = 0;
  let end: number | null = null;
  let firstSeq: number | null = null;
  while (end === null || from < end) {
    const range = `from=${from}${end === null ? '' : `&to=${end}`}`;
    const answer = await request(
      url,
      'GET',
      `${path}?${range}&limit=${READ_PAGE_EVENTS}&maxBytes=${READ_PAGE_BYTES}&encoding=base64`,
      undefined,
      READ_TIMEOUT_MS,
    );
    if (answer.status !== 200) {
      throw new Error(`reading ${name} (${url}) failed: ${JSON.stringify(answer.json)}`);
    }
    if (end === null) {
      end = answer.json.nextSeq as number;
      firstSeq = answer.json.firstSeq as number | null;
    }
    for (const event of answer.json.events as { seq: number; payload: string }[]) {
      events.set(event.seq, Buffer.from(event.payload, 'base64'));
    }
    const next = answer.json.next as number;
    if (next <= from) break;
    from = next;
  }
  return { name, firstSeq, nextSeq: end, events };
}

/** Several writers' histories as one; two acks of one seq for different payloads conflict. */
export function mergeHistories(histories: readonly WriteHistory[]): WriteHistory {
  const acked = new Map<number, string>();
  const failed = new Set<string>();
  const unknown = new Set<string>();
  const conflicts: AckConflict[] = [];
  for (const history of histories) {
    conflicts.push(...history.conflicts);
    for (const payload of history.failed) failed.add(payload);
    for (const payload of history.unknown) unknown.add(payload);
    for (const [seq, payload] of history.acked) {
      const earlier = acked.get(seq);
      if (earlier !== undefined && earlier !== payload) {
        conflicts.push({ seq, first: earlier, second: payload });
      } else {
        acked.set(seq, payload);
      }
    }
  }
  return { acked, failed, unknown, conflicts };
}

/** Bytes for a failure message: short UTF-8 (JSON-quoted) and short hex. */
export function showBytes(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return 'nothing';
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buffer.toString('utf8');
  const shortText = text.length > SHOWN_TEXT_CHARS ? `${text.slice(0, SHOWN_TEXT_CHARS)}…` : text;
  const hex = buffer.subarray(0, SHOWN_HEX_BYTES).toString('hex');
  const more = buffer.length > SHOWN_HEX_BYTES ? '…' : '';
  return `${JSON.stringify(shortText)} (${buffer.length} B, ${hex}${more})`;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Judges the logs of every node against the writers' history. */
export function verifyLogs(logs: readonly NodeLog[], history: WriteHistory): Verdict {
  const examples = {
    lost: [] as string[],
    divergent: [] as string[],
    duplicate: [] as string[],
    unexpected: [] as string[],
  };
  const note = (list: string[], line: () => string) => {
    if (list.length < PROBLEM_EXAMPLES_MAX) list.push(line());
  };

  let lost = history.conflicts.length;
  let lostEvents = history.conflicts.length;
  for (const { seq, first, second } of history.conflicts) {
    note(
      examples.lost,
      () =>
        `lost: seq ${seq} acknowledged twice: for ${showBytes(Buffer.from(first))} and for ${showBytes(Buffer.from(second))}`,
    );
  }
  for (const [seq, payload] of history.acked) {
    const expected = Buffer.from(payload);
    let missing = false;
    for (const log of logs) {
      const found = log.events.get(seq);
      if (sameBytes(found, expected)) continue;
      lost++;
      if (!missing) lostEvents++;
      missing = true;
      note(
        examples.lost,
        () =>
          `lost: seq ${seq} on ${log.name}: expected ${showBytes(expected)}, found ${showBytes(found)}`,
      );
    }
  }

  let divergentSeqs = 0;
  const low = Math.min(...logs.map((log) => log.firstSeq ?? log.nextSeq));
  const high = Math.max(...logs.map((log) => log.nextSeq));
  for (let seq = low; seq < high; seq++) {
    const first = logs[0]!.events.get(seq);
    if (logs.every((log) => sameBytes(log.events.get(seq), first))) continue;
    divergentSeqs++;
    note(
      examples.divergent,
      () =>
        `differs: seq ${seq}: ${logs.map((log) => `${log.name} ${showBytes(log.events.get(seq))}`).join(', ')}`,
    );
  }

  const ackedPayloads = new Set(history.acked.values());
  for (const { second } of history.conflicts) ackedPayloads.add(second);
  const unknownStored = new Set<string>();
  let duplicates = 0;
  let unexpected = 0;
  for (const log of logs) {
    const seen = new Map<string, number>();
    for (const [seq, bytes] of log.events) {
      const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        duplicates++;
        note(
          examples.duplicate,
          () => `twice: ${log.name} holds ${showBytes(bytes)} at seqs ${earlier} and ${seq}`,
        );
        continue;
      }
      seen.set(key, seq);
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      if (ackedPayloads.has(text)) continue;
      if (history.unknown.has(text)) {
        unknownStored.add(text);
        continue;
      }
      unexpected++;
      const why = history.failed.has(text) ? 'its append failed for sure' : 'nobody sent it';
      note(
        examples.unexpected,
        () => `unexpected: seq ${seq} on ${log.name} holds ${showBytes(bytes)}, but ${why}`,
      );
    }
  }

  return {
    ackedEvents: history.acked.size,
    lost,
    lostEvents,
    divergentSeqs,
    duplicates,
    unexpected,
    unknownStored: unknownStored.size,
    problems: [
      ...examples.lost,
      ...examples.divergent,
      ...examples.duplicate,
      ...examples.unexpected,
    ],
    ok: lost === 0 && divergentSeqs === 0 && duplicates === 0 && unexpected === 0,
  };
}

/** The counts of a verdict on one line, for a failure message. */
export function verdictCounts(verdict: Verdict): string {
  return [
    `acknowledged events lost ${verdict.lostEvents} of ${verdict.ackedEvents} (${verdict.lost} misses over all nodes)`,
    `seqs that differ ${verdict.divergentSeqs}`,
    `stored twice ${verdict.duplicates}`,
    `stored but refused or never sent ${verdict.unexpected}`,
  ].join(', ');
}
