// What the workload wrote: for each seq, every payload some node's append was acknowledged with.
// Two different payloads at one seq means two nodes led at once or one led on a stale log (a
// conflict); the checker then excuses that seq from byte-equality but still demands validity.

export interface Write {
  readonly seq: number;
  readonly payload: string;
  readonly writer: string;
  readonly atMs: number;
}

export class History {
  readonly #bySeq = new Map<number, Write[]>();
  /** Payloads whose append resolved and whose replication was confirmed (waitForReplicas). */
  readonly committed = new Map<number, string>();
  writes = 0;

  record(write: Write): void {
    this.writes++;
    const at = this.#bySeq.get(write.seq);
    if (at === undefined) this.#bySeq.set(write.seq, [write]);
    else at.push(write);
  }

  commit(seq: number, payload: string): void {
    this.committed.set(seq, payload);
  }

  writesAt(seq: number): readonly Write[] {
    return this.#bySeq.get(seq) ?? [];
  }

  /** Whether `payload` was written at `seq` by anyone. */
  wrote(seq: number, payload: string): boolean {
    return this.writesAt(seq).some((write) => write.payload === payload);
  }

  /** Seqs at which different payloads were acknowledged. */
  conflicts(): number[] {
    const seqs: number[] = [];
    for (const [seq, writes] of this.#bySeq) {
      if (new Set(writes.map((write) => write.payload)).size > 1) seqs.push(seq);
    }
    return seqs.sort((a, b) => a - b);
  }
}
