// One channel's log: seq allocation, appends, range reads, tails, retention and skip-ahead.
// In-memory files keep everything in a `MemoryStore` and mutate it synchronously, so an append, a
// tail's backfill and its live registration can never interleave. Persistent files delegate to a
// `DiskLog`, whose appends become visible once written (and fsynced when the policy says so).
// The shapes of its methods' options are in file-options.ts, the replication hook in
// file-replication.ts, argument checks in file-checks.ts and the bounded page read in read-page.ts.

import type { Clock } from '../time/clock.js';
import { abortable, checkSignal, throwIfAborted } from './abort.js';
import type { ResolvedFileConfig } from './config.js';
import type { DiskLog } from './disk/disk-log.js';
import {
  ClosedError,
  LeadershipLostError,
  RedexError,
  RedexErrorCode,
  SeqMismatchError,
  TruncatedError,
} from './errors.js';
import type { RedexEvent } from './event.js';
import { checkPayload, checkPayloads, checkSeq, invalidArgument } from './file-checks.js';
import {
  type AppendOptions,
  type Isolation,
  PAGE_EVENT_OVERHEAD_BYTES,
  type ReadOptions,
  type ReadStreamOptions,
  type TailOptions,
  type WaitForCommitOptions,
  type WaitForReplicasOptions,
} from './file-options.js';
import type { FileReplication, ReplicatedWrite } from './file-replication.js';
import type { MemoryStore } from './memory-store.js';
import { type CheckedRun, checkPayloadRun, type PayloadRun } from './payload-run.js';
import { MemoryQuorumState, type QuorumStateStore } from './quorum-state.js';
import { readPage } from './read-page.js';
import { retentionDropCount } from './retention.js';
import { RedexTail, type TailSource } from './tail.js';

// The shapes of the public methods, the replication hook and the argument checks live in their
// own modules; they stay importable from here.
export { checkSeq } from './file-checks.js';
export {
  type Acks,
  type AppendOptions,
  type Isolation,
  PAGE_EVENT_OVERHEAD_BYTES,
  type ReadOptions,
  type ReadStreamOptions,
  type TailOptions,
  type WaitForCommitOptions,
  type WaitForReplicasOptions,
} from './file-options.js';
export type { FileReplication, ReplicatedWrite } from './file-replication.js';

export interface RedexFileDeps {
  readonly clock: Clock;
  /** Told once when the file closes, so the manager can forget it. */
  readonly onClosed?: (file: RedexFile) => void;
}

/** The body of a file: everything in memory, or on disk with a cache. */
export type FileStorage =
  | { readonly kind: 'memory'; readonly store: MemoryStore }
  | { readonly kind: 'disk'; readonly store: DiskLog };

export class RedexFile {
  readonly name: string;
  readonly config: ResolvedFileConfig;
  readonly #clock: Clock;
  readonly #onClosed: ((file: RedexFile) => void) | undefined;
  readonly #memory: MemoryStore | null;
  readonly #disk: DiskLog | null;
  /** Whichever of the two holds the events; both expose the same read-side shape. */
  readonly #view: MemoryStore | DiskLog;
  readonly #tails = new Set<RedexTail>();
  readonly #uncommittedSource: TailSource;
  /** Tails reading uncommitted events: a truncation under them ends them with TRUNCATED. */
  readonly #uncommittedTails = new Set<RedexTail>();
  readonly #tailSource: TailSource;
  #quorumOpen = false;
  #replication: FileReplication | null = null;
  readonly #truncateListeners = new Set<(nextSeq: number) => void>();
  #memoryQuorumState: MemoryQuorumState | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(name: string, config: ResolvedFileConfig, storage: FileStorage, deps: RedexFileDeps) {
    this.name = name;
    this.config = config;
    this.#clock = deps.clock;
    this.#onClosed = deps.onClosed;
    this.#memory = storage.kind === 'memory' ? storage.store : null;
    this.#disk = storage.kind === 'disk' ? storage.store : null;
    this.#view = storage.store;
    const file = this;
    // One source per isolation: they differ only in where reading stops.
    const source = (isolation: Isolation): TailSource => ({
      name,
      get nextSeq() {
        return file.#visibleEnd(isolation);
      },
      get floorSeq() {
        return file.#view.firstSeq;
      },
      get closed() {
        return file.#closed;
      },
      prefetchBytes: config.tailBufferSize,
      readPage: (from, maxBytes) =>
        readPage(file.#view, from, file.#view.nextSeq, maxBytes, PAGE_EVENT_OVERHEAD_BYTES),
      detachTail: (tail) => {
        file.#tails.delete(tail);
        file.#uncommittedTails.delete(tail);
      },
    });
    this.#tailSource = source('committed');
    this.#uncommittedSource = source('uncommitted');
  }

  /** Where reads stop: the log's end, or for a replicated channel's committed reads its commit. */
  #visibleEnd(isolation: Isolation | undefined): number {
    const end = this.#view.nextSeq;
    const replication = this.#replication;
    if (replication === null || isolation === 'uncommitted') return end;
    if (isolation !== undefined && isolation !== 'committed') {
      throw invalidArgument(
        `isolation must be 'committed' or 'uncommitted', got ${String(isolation)}`,
      );
    }
    return Math.min(end, replication.commitSeq);
  }

  /**
   * INTERNAL (replication): the commit moved; tails waiting for committed events may go on.
   */
  commitAdvanced(): void {
    this.#pokeTails();
  }

  /** Every event below this seq is committed (replicated channels); `nextSeq` otherwise. */
  get committedSeq(): number {
    return this.#visibleEnd('committed');
  }

  /** Number of retained events. */
  get len(): number {
    return this.#view.count;
  }

  /** The seq the next append gets. */
  get nextSeq(): number {
    return this.#view.nextSeq;
  }

  /**
   * INTERNAL (replication): the end of what the leader may ship — `nextSeq`, plus a group of its
   * appends written and still being fsynced (under `fsync: 'always'`).
   */
  get shipNextSeq(): number {
    return this.#disk?.writtenNextSeq ?? this.#view.nextSeq;
  }

  /** INTERNAL (replication): `firstSeq` as the leader ships (written events count as retained). */
  get shipFirstSeq(): number | null {
    const source = this.#disk?.written ?? this.#view;
    return source.nextSeq > source.firstSeq ? source.firstSeq : null;
  }

  /** INTERNAL (replication): `readRangeLimited`, uncommitted, up to `shipNextSeq`. */
  readShippable(
    start: number,
    end: number,
    maxBytes: number,
    perEventOverhead: number,
  ): Promise<RedexEvent[]> {
    try {
      this.#checkOpen();
      // readPage clamps to the source's own range.
      const source = this.#disk?.written ?? this.#view;
      return Promise.resolve(readPage(source, start, end, maxBytes, perEventOverhead));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** INTERNAL (replication): the next seq once the appends being written land. */
  get writingNextSeq(): number {
    return this.#disk?.writingNextSeq ?? this.#view.nextSeq;
  }

  /** Lowest retained seq, or null when nothing is retained. */
  get firstSeq(): number | null {
    return this.#view.count > 0 ? this.#view.firstSeq : null;
  }

  /** Σ payload bytes of retained events (retention's `maxBytes` also counts 20 bytes per event). */
  get retainedBytes(): number {
    return this.#view.payloadBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get persistent(): boolean {
    return this.#disk !== null;
  }

  /** True when the file is replicated (opened with a `replication` config). */
  get replicated(): boolean {
    return this.#replication !== null;
  }

  /** Number of live tails (for metrics and tests). */
  get tailCount(): number {
    return this.#tails.size;
  }

  /** Resolves to the event's seq once it is stored (and durable, under `fsync: 'always'`). */
  append(payload: Uint8Array, options: AppendOptions = {}): Promise<number> {
    try {
      const signal = checkSignal(options.signal);
      throwIfAborted(signal);
      this.#checkOpen();
      const write = this.#replication?.beginWrite(options.acks, options.ackTimeoutMs) ?? null;
      const bytes = checkPayload(payload);
      const precondition = options.precondition ?? write?.precondition ?? null;
      if (this.#disk !== null) {
        // The disk log copies the payload as it encodes it: the caller may reuse its buffer at once.
        const stored = this.#disk.append(
          [bytes],
          this.#clock.nowNs(),
          null,
          precondition,
          this.#replication !== null,
        ) as Promise<number>;
        return abortable(
          write === null ? stored : stored.then((seq) => this.#acknowledged(write, seq, 1, signal)),
          signal,
        );
      }
      this.#checkPrecondition(precondition);
      this.#checkRoom(1, bytes.byteLength);
      const seq = this.#memory!.push(bytes, this.#clock.nowNs());
      this.#pokeTails();
      if (write === null) return Promise.resolve(seq);
      return abortable(this.#acknowledged(write, seq, 1, signal), signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Appends all or nothing; resolves to the first seq, or null for an empty batch. */
  appendBatch(
    payloads: readonly Uint8Array[],
    options: AppendOptions = {},
  ): Promise<number | null> {
    return this.#appendBatch(null, payloads, true, options);
  }

  /** `appendBatch` that first checks `nextSeq === expected`; a mismatch is SEQ_MISMATCH and changes nothing. */
  appendBatchIfNextSeq(
    expected: number,
    payloads: readonly Uint8Array[],
    options: AppendOptions = {},
  ): Promise<number | null> {
    try {
      checkSeq('expected', expected);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#appendBatch(expected, payloads, true, options);
  }

  /**
   * INTERNAL (the replication runtime's apply path): `appendBatchIfNextSeq` without the leader
   * guard and without the append nudge. A replica must store what its leader sends although it
   * refuses appends from its own callers.
   */
  applyReplicated(
    expected: number,
    payloads: readonly Uint8Array[],
    options: AppendOptions = {},
  ): Promise<number | null> {
    try {
      checkSeq('expected', expected);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#appendBatch(expected, payloads, false, options);
  }

  /**
   * INTERNAL (the replication runtime's apply path): `applyReplicated` for payloads that lie in
   * one buffer, appended without a view per payload. The file copies what it keeps: `run.bytes`
   * must stay as it is until the returned promise settles, and may be reused after that. A
   * malformed run (payloads past the end of its buffer) is INVALID_ARGUMENT and writes nothing.
   */
  applyReplicatedRun(
    expected: number,
    run: PayloadRun,
    options: AppendOptions = {},
  ): Promise<number | null> {
    try {
      checkSeq('expected', expected);
      const payloadBytes = checkPayloadRun(run);
      return this.#appendBatch(expected, { run, payloadBytes }, false, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * INTERNAL (replication; not for applications): removes every event with seq ≥ `seq`, so
   * `nextSeq` becomes `seq`, and resolves to how many it removed. A no-op (0) when
   * seq ≥ nextSeq; SEQ_RANGE when seq is below the first retained seq (those events are gone,
   * so the log cannot be cut there). On a persistent file the cut runs after every write queued
   * before the call, is fsynced before it resolves, and appends made after the call take the
   * seqs from `seq` on; if it fails the file turns read-only. Listeners of `onTruncate` are told
   * the new next seq as soon as the removed events stop being visible.
   */
  async truncateFrom(seq: number): Promise<number> {
    this.#checkOpen();
    checkSeq('seq', seq);
    if (this.#disk !== null) return this.#disk.truncateFrom(seq, this.#notifyTruncate);
    const memory = this.#memory!;
    if (seq >= memory.nextSeq) return 0;
    if (seq < memory.firstSeq) {
      throw new RedexError(
        RedexErrorCode.SeqRange,
        `cannot truncate channel ${JSON.stringify(this.name)} from seq ${seq}: its retained events start at ${memory.firstSeq}`,
      );
    }
    const removed = memory.nextSeq - seq;
    memory.truncateFrom(seq);
    this.#notifyTruncate(seq);
    return removed;
  }

  /**
   * INTERNAL (replication, tails): calls `listener(nextSeq)` after each truncation, synchronously,
   * once the removed events are no longer visible. It must not throw or call back into the file.
   * Returns a function that removes the listener.
   */
  onTruncate(listener: (nextSeq: number) => void): () => void {
    this.#truncateListeners.add(listener);
    return () => {
      this.#truncateListeners.delete(listener);
    };
  }

  /**
   * INTERNAL (replication): the channel's durable votes and leader-epoch history — files next to
   * the log on a persistent file, memory otherwise. Call `load(file.nextSeq)` before anything else.
   */
  get quorumState(): QuorumStateStore {
    this.#checkOpen();
    return this.#quorumStore();
  }

  #quorumStore(): QuorumStateStore {
    if (this.#disk !== null) return this.#disk.quorumState;
    this.#memoryQuorumState ??= new MemoryQuorumState();
    return this.#memoryQuorumState;
  }

  /**
   * INTERNAL: installs the replication hook (once, before the handle is handed out). Used by
   * `Redex` when the file is opened with a `replication` config.
   */
  attachReplication(replication: FileReplication): void {
    this.#checkOpen();
    if (this.#replication !== null) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `file ${JSON.stringify(this.name)} already has its replication attached`,
      );
    }
    this.#replication = replication;
    // A leader's appends written under `fsync: 'always'` are announced before their fsync.
    this.#disk?.setWrittenListener(() => this.#replication?.appended());
  }

  /**
   * Resolves once `count` replicas (other than this node) confirmed holding `seq`; rejects with
   * REPLICATION_TIMEOUT after `timeoutMs`, CLOSED if the file closes first, CONFIG on a file that
   * is not replicated.
   */
  waitForReplicas(seq: number, options: WaitForReplicasOptions = {}): Promise<void> {
    try {
      throwIfAborted(checkSignal(options.signal));
      this.#checkOpen();
      if (this.#replication === null) {
        throw new RedexError(
          RedexErrorCode.Config,
          `file ${JSON.stringify(this.name)} is not replicated; waitForReplicas needs a replication config`,
        );
      }
      return this.#replication.waitForReplicas(seq, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Resolves once every event up to `seq` is committed: held by a majority of the replica set
   * with the leader's history, so no failover can lose it. Replicated files only.
   */
  waitForCommit(seq: number, options: WaitForCommitOptions = {}): Promise<void> {
    try {
      throwIfAborted(checkSignal(options.signal));
      this.#checkOpen();
      checkSeq('seq', seq);
      if (this.#replication === null) {
        throw new RedexError(
          RedexErrorCode.Config,
          `file ${JSON.stringify(this.name)} is not replicated; waitForCommit needs a replication config`,
        );
      }
      return this.#replication.waitForCommit(seq, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * INTERNAL (replication): marks the quorum state open; a clean close marks it clean again. The
   * mark tells the next start that acknowledged events may have been lost in a crash, which under
   * `fsync: 'always'` cannot happen (every append is durable before it resolves): such a file skips
   * the write and its two fsyncs, half the cost of reopening thousands of channels.
   */
  async openQuorumState(): Promise<void> {
    if (this.config.fsync !== 'always') await this.quorumState.markOpen();
    this.#quorumOpen = true;
  }

  /** Retained events with seq in [start, end) (committed ones only on a replicated channel, by default). */
  readRange(start: number, end: number, options: ReadOptions = {}): Promise<RedexEvent[]> {
    try {
      this.#checkOpen();
      checkSeq('start', start);
      checkSeq('end', end);
      const stop = Math.min(end, this.#visibleEnd(options.isolation));
      return Promise.resolve(this.#view.readEvents(start, Math.max(start, stop)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Retained events from [start, end) while Σ (payload + perEventOverhead) ≤ maxBytes; always at
   * least one event when one exists, so a reader can make progress past an oversized event.
   */
  readRangeLimited(
    start: number,
    end: number,
    maxBytes: number,
    perEventOverhead: number,
    options: ReadOptions = {},
  ): Promise<RedexEvent[]> {
    try {
      this.#checkOpen();
      checkSeq('start', start);
      checkSeq('end', end);
      checkSeq('maxBytes', maxBytes);
      checkSeq('perEventOverhead', perEventOverhead);
      const stop = Math.min(end, this.#visibleEnd(options.isolation));
      if (stop <= start) return Promise.resolve([]);
      return Promise.resolve(readPage(this.#view, start, stop, maxBytes, perEventOverhead));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Retained events of [start, end) as pages bounded in bytes, read one page per step of the
   * iteration (so a long range costs one page of memory). `end` defaults to `nextSeq` when the
   * stream starts. Like `readRange`, events evicted meanwhile are skipped: seqs may jump.
   */
  async *readStream(
    start: number,
    end?: number,
    options: ReadStreamOptions = {},
  ): AsyncGenerator<RedexEvent[], void, undefined> {
    this.#checkOpen();
    checkSeq('start', start);
    const isolation = options.isolation;
    const stop = end === undefined ? this.#visibleEnd(isolation) : checkSeq('end', end);
    const pageBytes =
      options.pageBytes === undefined
        ? this.config.tailBufferSize
        : checkSeq('pageBytes', options.pageBytes);
    const signal = checkSignal(options.signal);
    let from = start;
    for (;;) {
      throwIfAborted(signal);
      this.#checkOpen();
      from = Math.max(from, this.#view.firstSeq);
      if (from >= Math.min(stop, this.#visibleEnd(isolation))) return;
      const page = await abortable(
        Promise.resolve(readPage(this.#view, from, stop, pageBytes, PAGE_EVENT_OVERHEAD_BYTES)),
        signal,
      );
      if (page.length === 0) return;
      from = page[page.length - 1]!.seq + 1;
      yield page;
    }
  }

  /** The event at `seq`, or null when it was never written or is no longer retained. */
  async readOne(seq: number, options: ReadOptions = {}): Promise<RedexEvent | null> {
    this.#checkOpen();
    checkSeq('seq', seq);
    if (seq >= this.#visibleEnd(options.isolation)) return null;
    const events = await this.#view.readEvents(seq, seq + 1);
    return events[0] ?? null;
  }

  /**
   * A cursor from `fromSeq`: reads the retained history page by page (each page at most
   * `tailBufferSize` bytes) at the consumer's pace, then live appends, in order, with no gap and
   * no duplicate. Ends with LAGGED only when retention evicts events it has not read yet; ends
   * cleanly on `return()` or when the file closes; rejects with `signal.reason` once aborted.
   */
  tail(options: TailOptions = {}): RedexTail {
    const signal = checkSignal(options.signal);
    throwIfAborted(signal);
    this.#checkOpen();
    const fromSeq = checkSeq('fromSeq', options.fromSeq ?? 0);
    this.#visibleEnd(options.isolation); // validates it
    const uncommitted = options.isolation === 'uncommitted' && this.#replication !== null;
    const tail = new RedexTail(
      uncommitted ? this.#uncommittedSource : this.#tailSource,
      fromSeq,
      signal,
    );
    this.#tails.add(tail);
    if (uncommitted) this.#uncommittedTails.add(tail);
    return tail;
  }

  /** Evicts everything below `seq` and makes `seq` the next seq; a no-op when seq ≤ nextSeq. Durable on persistent files. */
  async skipTo(seq: number): Promise<void> {
    this.#checkOpen();
    checkSeq('seq', seq);
    if (this.#disk !== null) {
      await this.#disk.skipTo(seq);
      return;
    }
    if (seq > this.#memory!.nextSeq) {
      this.#memory!.resetTo(seq);
      this.#pokeTails();
    }
  }

  /** Applies the retention policy now; resolves to the number of events evicted. */
  async sweepRetention(): Promise<number> {
    this.#checkOpen();
    const policy = this.config.retention;
    if (policy === null) return 0;
    let drop = retentionDropCount(this.#view, policy, this.#clock.nowNs());
    // A replicated channel never evicts what is not committed yet: a replica may still need it,
    // and a new leader may still need this node's copy.
    const replication = this.#replication;
    if (replication !== null && this.#view.count > 0) {
      const committed = Math.max(0, replication.commitSeq - this.#view.firstSeq);
      drop = Math.min(drop, committed);
    }
    if (drop <= 0) return 0;
    if (this.#disk !== null) {
      const durable = this.#disk.evictPrefix(drop);
      this.#pokeTails();
      await durable;
    } else {
      this.#memory!.evictPrefix(drop);
      this.#pokeTails();
    }
    return drop;
  }

  /** Writes and fsyncs everything appended so far (nothing to do in memory). */
  async sync(): Promise<void> {
    this.#checkOpen();
    await this.#disk?.sync();
  }

  /** Closes the file (flushing and fsyncing a persistent one) and ends every tail; idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      for (const tail of [...this.#tails]) tail.poke();
      this.#tails.clear();
      this.#onClosed?.(this);
      const replication = this.#replication;
      const disk = this.#disk;
      // The replication runtime stops first (its graceful Idle transition), then the storage.
      this.#closing =
        replication === null
          ? disk === null
            ? Promise.resolve()
            : disk.close()
          : replication
              .close()
              .catch(() => {})
              .then(() => disk?.close())
              // Only a close that flushed everything tells the next start it may trust its state.
              .then(() => (this.#quorumOpen ? this.#quorumStore().markCleanShutdown() : undefined));
    }
    return this.#closing;
  }

  /** Checks the storage invariants; for tests and the simulation. */
  assertInvariants(): void {
    this.#view.assertInvariants();
  }

  #appendBatch(
    expected: number | null,
    batch: readonly Uint8Array[] | CheckedRun,
    guarded: boolean,
    options: AppendOptions,
  ): Promise<number | null> {
    try {
      const signal = checkSignal(options.signal);
      throwIfAborted(signal);
      this.#checkOpen();
      const write = guarded
        ? (this.#replication?.beginWrite(options.acks, options.ackTimeoutMs) ?? null)
        : null;
      const run = 'run' in batch ? batch : null;
      const payloads = run === null ? checkPayloads(batch) : [];
      const timestampNs = this.#clock.nowNs();
      const precondition = options.precondition ?? write?.precondition ?? null;
      const count = run === null ? payloads.length : run.run.count;
      if (this.#disk !== null) {
        // A replicated leader's appends are shipped while they are fsynced (DiskLog's header).
        const stored = this.#disk.append(
          run ?? payloads,
          timestampNs,
          expected,
          precondition,
          guarded && this.#replication !== null,
        );
        return abortable(
          write === null
            ? stored
            : stored.then((first) =>
                first === null ? first : this.#acknowledged(write, first, count, signal),
              ),
          signal,
        );
      }
      const memory = this.#memory!;
      this.#checkPrecondition(precondition);
      if (expected !== null && expected !== memory.nextSeq)
        throw new SeqMismatchError(this.name, expected, memory.nextSeq);
      if (count === 0) return Promise.resolve(null);
      let bytes = run?.payloadBytes ?? 0;
      for (const payload of payloads) bytes += payload.byteLength;
      this.#checkRoom(count, bytes);
      const first = memory.nextSeq;
      if (run !== null) memory.pushRun(run, timestampNs);
      for (const payload of payloads) memory.push(payload, timestampNs);
      this.#pokeTails();
      if (write === null) return Promise.resolve(first);
      return abortable(this.#acknowledged(write, first, count, signal), signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A replicated write was stored at `first`…: tell replication, then wait for its acks. */
  #acknowledged(
    write: ReplicatedWrite,
    first: number,
    count: number,
    signal: AbortSignal | null,
  ): Promise<number> {
    this.#replication?.appended();
    return write.acknowledge(first + count - 1, signal).then(() => first);
  }

  /** Tells the truncation listeners the new next seq (bound once). */
  readonly #notifyTruncate = (nextSeq: number): void => {
    for (const tail of this.#uncommittedTails) {
      if (tail.position > nextSeq) tail.fail(new TruncatedError(this.name, nextSeq, tail.position));
    }
    for (const listener of [...this.#truncateListeners]) {
      try {
        listener(nextSeq);
      } catch {
        // A listener must not throw; one that does cannot undo the cut or silence the others.
      }
    }
  };

  #checkPrecondition(precondition: (() => boolean) | null): void {
    if (precondition !== null && !precondition()) throw new LeadershipLostError(this.name);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`file ${JSON.stringify(this.name)}`);
  }

  /** Limits of an in-memory append (persistent files check the seq range when the group is written). */
  #checkRoom(events: number, bytes: number): void {
    const memory = this.#memory!;
    // Written so no intermediate passes 2^53, where float addition stops being exact.
    if (events - 1 > Number.MAX_SAFE_INTEGER - memory.nextSeq) {
      throw new RedexError(
        RedexErrorCode.SeqRange,
        `appending ${events} events to ${JSON.stringify(this.name)} would pass seq ${Number.MAX_SAFE_INTEGER}`,
      );
    }
    if (memory.payloadBytes + bytes > this.config.maxLiveBytes) {
      throw new RedexError(
        RedexErrorCode.PayloadTooLarge,
        `appending ${bytes} bytes to ${JSON.stringify(this.name)} would hold ${memory.payloadBytes + bytes} live bytes; maxLiveBytes is ${this.config.maxLiveBytes}`,
      );
    }
  }

  /** Wakes every tail; the disk log calls this when its events change. */
  pokeTails(): void {
    this.#pokeTails();
  }

  #pokeTails(): void {
    if (this.#tails.size === 0) return;
    for (const tail of this.#tails) tail.poke();
  }
}
