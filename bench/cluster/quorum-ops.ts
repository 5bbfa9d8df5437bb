// The measured loops of bench:quorum, run inside the leader's process (node-process.ts calls them
// when the harness asks). Every time is taken here, with `process.hrtime.bigint()`, around library
// calls on the leader's file, so the IPC hop that carries the command and the answer is never part
// of a figure. Every append waits for `acks: 'quorum'` (committed: the leader and one replica).

import type { RedexFile } from '../../src/log/redex-file.js';

const now = (): bigint => process.hrtime.bigint();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Events committed between the first append and the last acknowledgement, and how long it took. */
export interface ThroughputResult {
  readonly events: number;
  readonly elapsedNs: string;
}

/**
 * `inFlight` writers each append batches of `batch` events for `durationMs` (a writer starts no
 * batch after the deadline); the clock stops at the last batch's acknowledgement.
 */
export async function quorumBatches(
  file: RedexFile,
  batch: number,
  inFlight: number,
  durationMs: number,
  size: number,
): Promise<ThroughputResult> {
  const payloads = Array.from({ length: batch }, () => new Uint8Array(size).fill(0x62));
  const started = now();
  const deadline = started + BigInt(durationMs) * 1_000_000n;
  let events = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (now() < deadline) {
        await file.appendBatch(payloads, { acks: 'quorum' });
        events += batch;
      }
    }),
  );
  return { events, elapsedNs: (now() - started).toString() };
}

/** `writers` concurrent single appends for `durationMs`, each writer waiting for its own ack. */
export async function quorumWriters(
  file: RedexFile,
  writers: number,
  durationMs: number,
  size: number,
): Promise<ThroughputResult> {
  const payload = new Uint8Array(size).fill(0x77);
  const started = now();
  const deadline = started + BigInt(durationMs) * 1_000_000n;
  let events = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (now() < deadline) {
        await file.append(payload, { acks: 'quorum' });
        events++;
      }
    }),
  );
  return { events, elapsedNs: (now() - started).toString() };
}

/** `samples` sequential appends; one latency (ns) per append, call → acknowledgement. */
export async function quorumSequential(
  file: RedexFile,
  samples: number,
  size: number,
): Promise<{ samples: number[] }> {
  const payload = new Uint8Array(size).fill(0x73);
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = now();
    await file.append(payload, { acks: 'quorum' });
    latencies.push(Number(now() - t0));
  }
  return { samples: latencies };
}

/**
 * Single appends at `rate` per second, each stamped in its first 8 bytes with the leader's hrtime
 * (replica tails subtract it). A 1 ms timer appends what is due; the writes are not awaited one
 * by one, so a slow acknowledgement does not slow the schedule. The appends still wait for the
 * quorum (a replica shows committed events only); `failed` counts rejected ones.
 */
export async function quorumPaced(
  file: RedexFile,
  rate: number,
  count: number,
  size: number,
): Promise<Record<string, number>> {
  const started = performance.now();
  let sent = 0;
  let behindMax = 0;
  let outstanding = 0;
  let failed = 0;
  const settled = () => {
    outstanding--;
  };
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate));
    behindMax = Math.max(behindMax, due - sent);
    while (sent < due) {
      const payload = new Uint8Array(Math.max(size, 8)).fill(0x70);
      new DataView(payload.buffer).setBigUint64(0, now(), true);
      outstanding++;
      file.append(payload, { acks: 'quorum' }).then(settled, () => {
        failed++;
        settled();
      });
      sent++;
    }
    await sleep(1);
  }
  const elapsedS = (performance.now() - started) / 1000;
  while (outstanding > 0) await sleep(1);
  return { achievedRate: count / elapsedS, behindMax, failed };
}
