// DEV DOCS — the persistent body of one channel.
//
// Owns the channel's store directory (`<dir>/<channel>/@redex/`): the manifest and the current
// generation's data and index files. Keeps the whole index in memory as typed-array rows
// (offset, length, timestamp: 20 bytes per event) and the most recent payloads in a bounded
// `MemoryStore` cache; older payloads are read back from disk and checked against their CRC.
//
// Every write goes through one promise chain, so appends, syncs, retention floors, compactions,
// skips and suffix truncations never interleave. Appends are grouped: all appends that arrive
// while a write is in flight are written by the next single data write and single index write
// (and, under `fsync: always`, one fsync of the data file), which is group commit. The index is a
// hint that recovery checks against the data and rebuilds from it, so it is fsynced lazily. Events become visible
// (nextSeq, reads, tails) only once their group is written, so a failed write can be rolled back
// with no seq consumed and nothing seen.
//
// Ship before fsync: under `fsync: always`, a group holding a replicated leader's appends is
// published to the replication layer (`writtenNextSeq`, `written`, the written listener) as soon
// as its bytes are written; its fsync runs while replicas fetch it and the next group is written
// (published-syncs.ts), and it becomes visible here (nextSeq, reads, tails) and its appends
// resolve only once fsynced. If that fsync fails the groups stay published (a replica may hold
// them, and commit may count them without this node), the file turns read-only and the appends
// fail with an outcome that is unknown, not rolled back. Every other operation waits for the
// fsyncs in flight first.
//
// Called by `RedexFile` (src/log/redex-file.ts). The state it shares with the fsyncs and the cuts
// lives in disk-state.ts; the cuts (retention floor, compaction, suffix truncation, skip,
// generation switch) in log-cuts.ts. Helpers that hold no state of their own: recovery at open
// (recovery.ts), the in-memory row index (rows.ts), admitting and sealing a group
// (group-commit.ts), reads past the cache (disk-read.ts), the compaction copy (compaction.ts),
// zeros ahead of the data (zero-fill.ts), and creating, switching and removing the store's files
// (store-files.ts).

import { ClosedError, IoError } from '../errors.js';
import type { RedexEvent } from '../event.js';
import { MemoryStore } from '../memory-store.js';
import type { CheckedRun } from '../payload-run.js';
import type { PageSource } from '../read-page.js';
import { planDiskRead, readDisk } from './disk-read.js';
import { type DiskLogOptions, DiskState, INDEX_SYNC_LAG_BYTES, syncDirOf } from './disk-state.js';
import {
  encodeRunRecords,
  encodeUnsealedRecords,
  FILE_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  type Manifest,
  parseGenerationFileName,
  RECORD_HEADER_BYTES,
} from './format.js';
import { type Generation, isCreationManifest, openGeneration } from './generation.js';
import { admitGroup, type PendingAppend, sealGroup } from './group-commit.js';
import { persistFloor, skipNow, truncateNow } from './log-cuts.js';
import { PublishedSyncs } from './published-syncs.js';
import { DiskQuorumState, isQuorumStateFileName } from './quorum-state.js';
import { giveRecordBuffer, takeRecordBuffer } from './record-pool.js';
import { recoverGeneration } from './recovery.js';
import { settleAll } from './settle.js';
import { findManifest, initializeStore, removeSwitchLeftovers } from './store-files.js';
import { ZeroedTail, type ZeroFillPlan, zeroBytes } from './zero-fill.js';

// Moved to their own modules; still exported here for the code and tests that import them from here.
export { COMPACT_DEAD_BYTES_MIN } from './compaction.js';
export { removeStore } from './store-files.js';

/** Sealed records at least this large are kept by the cache as an arena of their own, not copied. */
const ADOPT_RECORDS_BYTES_MIN = 64 << 10;
/**
 * A replicated chunk with more payload bytes than this is not cached: such chunks come while the
 * replica is behind (catch-up), when nothing local reads them soon, and copying them into the
 * cache's arenas wrote megabytes of new memory per chunk (a page fault per 4 KiB). Reads of them
 * go to the data file; live replication's small chunks are cached as before.
 */
export const CACHED_RUN_BYTES_MAX = 256 << 10;

export { type DiskLogOptions, INDEX_SYNC_LAG_BYTES } from './disk-state.js';

/**
 * Index entries of a group at least this large are built in a pooled record buffer (warm memory:
 * a catch-up chunk's are about 200 KiB); a small group's come from Node's shared slab, so the many
 * small groups of many channels do not each hold a pooled buffer while written.
 */
const POOLED_INDEX_BYTES_MIN = 16 << 10;

function indexBuffer(bytes: number): Buffer {
  return bytes >= POOLED_INDEX_BYTES_MIN ? takeRecordBuffer(bytes) : Buffer.allocUnsafe(bytes);
}

export class DiskLog {
  /** What the write path, the syncs and the cuts share (disk-state.ts). */
  readonly #s: DiskState;
  #chain: Promise<void> = Promise.resolve();
  /** The group that appends join; its flush is already queued. Null when none is open. */
  #openGroup: PendingAppend[] | null = null;
  /** While a group is written: the next seq once it lands. */
  #writingEnd: number | null = null;
  #closing: Promise<void> | null = null;
  #quorumState: DiskQuorumState | null = null;
  /** Told when a group with `shipEarly` appends is written, before its fsync. */
  #onWritten: (() => void) | null = null;
  /** Groups published before their fsync: the rows hold them, `nextSeq` stops before them. */
  readonly #published = new PublishedSyncs({
    writtenEnd: () => this.#s.rows.nextSeq,
    fsync: () => this.#s.syncData(this.#s.generation),
    onDurable: () => this.#s.options.onChange(),
    onFailed: (cause) => this.#shippedSyncFailed(cause),
  });
  /** Created by this open, with no quorum-state file beside it: its first load reads nothing. */
  #createdEmpty = false;
  /** What recovery repaired at open (empty for a clean open). */
  readonly repairs: string[] = [];

  private constructor(
    options: DiskLogOptions,
    generation: Generation,
    highestGeneration: number,
    storePending: boolean,
  ) {
    this.#s = new DiskState(options, generation, highestGeneration, storePending);
  }

  /** Opens (creating if needed) and recovers the store in `options.dir`. */
  static async open(options: DiskLogOptions): Promise<DiskLog> {
    const { fs, dir } = options;
    // An existing store lists its files; an empty listing (no directory yet, or an empty one)
    // needs the directories made, and then they are still empty.
    const names = await fs.readdir(dir);
    if (names.length === 0) await fs.mkdir(dir);
    const repairs: string[] = [];
    const found = await findManifest(fs, dir, names);
    let manifest: Manifest;
    let generation: Generation;
    let created = false;
    if (typeof found !== 'string') {
      manifest = found;
      generation = await openGeneration(fs, dir, manifest, repairs);
    } else {
      const initialized = await initializeStore(fs, dir, names, found, repairs);
      manifest = initialized.manifest;
      if (initialized.created === null) {
        generation = await openGeneration(fs, dir, manifest, repairs);
      } else {
        generation = initialized.created;
        created = true;
        // Acknowledging the channel needs only its directory to survive a crash: fsync every
        // directory between the manager's root and the store (their entries), all at once. The
        // store's own files may be lost or blank after a crash, which recovery takes for this
        // creation, interrupted; they become durable with the store's first fsync.
        const syncDir = syncDirOf(options);
        try {
          await settleAll((options.parentDirs ?? []).map((parent) => syncDir(parent)));
        } catch (error) {
          await generation.close();
          throw error;
        }
      }
    }
    let highest = manifest.generation;
    for (const name of names)
      highest = Math.max(highest, parseGenerationFileName(name)?.generation ?? 0);
    const log = new DiskLog(options, generation, highest, isCreationManifest(manifest));
    log.repairs.push(...repairs);
    log.#createdEmpty = created && !names.some(isQuorumStateFileName);
    try {
      // A store created just now has nothing to recover: its files hold their headers only.
      if (!created) await log.#recover(manifest, names);
      // Recovery fsynced whatever it repaired: an idle channel holds no descriptor.
      await log.#s.generation.release();
    } catch (error) {
      await log.#s.generation.close();
      throw error;
    }
    return log;
  }

  async #recover(manifest: Manifest, names: string[]): Promise<void> {
    const { fs, dir } = this.#s.options;
    const result = await recoverGeneration(this.#s.generation, this.#s.rows.sink());
    this.repairs.push(...result.repairs);
    this.#s.dataSize = result.dataSize;
    this.#s.indexSize = result.indexSize;
    this.#s.zeroedTail = new ZeroedTail(result.dataSize);
    // Leftovers of an interrupted generation switch. Only names this code writes are touched.
    await removeSwitchLeftovers(fs, dir, names, manifest, this.repairs);
    const storedNext = this.#s.generation.baseSeq + this.#s.rows.count;
    if (manifest.firstSeq > storedNext) {
      // Retention had moved past records that did not survive the crash: continue at the floor.
      await this.#enqueue(() => skipNow(this.#s, manifest.firstSeq));
    } else {
      this.#s.rows.dropFront(manifest.firstSeq - this.#s.generation.baseSeq);
    }
    this.#s.cache = new MemoryStore(this.nextSeq);
  }

  get firstSeq(): number {
    return this.#s.rows.firstSeq;
  }

  get nextSeq(): number {
    return this.#published.durableEnd ?? this.#s.rows.nextSeq;
  }

  /**
   * INTERNAL (replication): the end of what is written, fsynced or not: `nextSeq` plus a group
   * published before its fsync (see the file's header).
   */
  get writtenNextSeq(): number {
    return this.#s.rows.nextSeq;
  }

  /** INTERNAL (replication): this log as the leader ships it, written events included. */
  readonly written: PageSource = ((log: DiskLog): PageSource => ({
    get firstSeq(): number {
      return log.#s.rows.firstSeq;
    },
    get nextSeq(): number {
      return log.#s.rows.nextSeq;
    },
    lengthAt: (seq) => log.#s.rows.lengthAt(seq),
    readEvents: (from, to) => log.#readEvents(from, to, log.#s.rows.nextSeq),
  }))(this);

  /**
   * INTERNAL (replication): `listener` is told each time a group holding `shipEarly` appends is
   * written under `fsync: always`, before its fsync; such groups are published at once.
   */
  setWrittenListener(listener: (() => void) | null): void {
    this.#onWritten = listener;
  }

  /** The next seq once the group being written lands (its seqs are taken already). */
  get writingNextSeq(): number {
    return this.#writingEnd ?? this.#s.rows.nextSeq;
  }

  /** Visible events (a group published before its fsync is not counted yet). */
  get count(): number {
    return this.#s.rows.count - (this.#s.rows.nextSeq - this.nextSeq);
  }

  get payloadBytes(): number {
    return this.#s.rows.payloadBytes;
  }

  /** Set once a failure could not be rolled back; every later write fails with it. */
  get readOnly(): IoError | null {
    return this.#s.readOnly;
  }

  get dataPath(): string {
    return this.#s.generation.dataPath;
  }

  lengthAt(seq: number): number {
    return this.#s.rows.lengthAt(seq);
  }

  timestampAt(seq: number): bigint {
    return this.#s.rows.timestampAt(seq);
  }

  /**
   * Appends a batch once every write queued before it is done; resolves to its first seq after
   * the bytes are written (and fsynced under `always`). `expected` guards the first seq;
   * `precondition`, when given, must still hold as the group is written (else LEADERSHIP_LOST).
   * A run checked by `checkPayloadRun` (a replicated chunk) is encoded straight from its buffer
   * into a pooled one (record-pool.ts) and the cache copies its payloads once the group is
   * written, so `run.bytes` must stay as it is until the append settles, and may be reused then.
   */
  append(
    batch: readonly Uint8Array[] | CheckedRun,
    timestampNs: bigint,
    expected: number | null,
    precondition: (() => boolean) | null = null,
    shipEarly = false,
  ): Promise<number | null> {
    if (this.#closing !== null)
      return Promise.reject(new ClosedError(`file ${JSON.stringify(this.#s.options.channel)}`));
    if (this.#s.readOnly !== null) return Promise.reject(this.#s.readOnly);
    return new Promise((resolve, reject) => {
      const run = 'run' in batch ? batch : undefined;
      const records =
        run === undefined
          ? encodeUnsealedRecords(batch as readonly Uint8Array[], timestampNs)
          : encodeRunRecords(run.run, run.payloadBytes, timestampNs, takeRecordBuffer);
      const count = run === undefined ? (batch as readonly Uint8Array[]).length : run.run.count;
      let group = this.#openGroup;
      if (group === null) {
        const opened: PendingAppend[] = [];
        group = this.#openGroup = opened;
        void this.#enqueue(() => this.#flush(opened));
      }
      group.push({
        records,
        ...(run === undefined ? {} : { run }),
        count,
        timestampNs,
        expected,
        precondition,
        shipEarly,
        firstSeq: -1,
        resolve,
        reject,
      });
    });
  }

  /** Events in [from, to) (clamped to what is retained); from the cache when possible, else from disk. */
  readEvents(from: number, to: number): RedexEvent[] | Promise<RedexEvent[]> {
    return this.#readEvents(from, to, this.nextSeq);
  }

  #readEvents(from: number, to: number, limit: number): RedexEvent[] | Promise<RedexEvent[]> {
    const start = Math.max(from, this.#s.rows.firstSeq);
    const end = Math.min(to, limit);
    if (start >= end) return [];
    const cache = this.#s.cache;
    if (start >= cache.firstSeq) return cache.readEvents(start, end);
    const diskEnd = Math.min(end, cache.firstSeq);
    const fromCache = end > diskEnd ? cache.readEvents(diskEnd, end) : [];
    const plan = planDiskRead(this.#s.rows.deque, this.#s.rows.firstSeq, start, diskEnd);
    const truncations = this.#s.truncations;
    return this.#s.generation
      .read((generation) => readDisk(generation, plan))
      .then(
        (events) => {
          // A truncation while the read ran may have cut what it read: read again, within the new end.
          if (truncations !== this.#s.truncations)
            return this.#readEvents(from, to, Math.min(limit, this.#s.rows.nextSeq));
          for (const event of fromCache) events.push(event);
          return events;
        },
        (error: unknown) => {
          if (truncations !== this.#s.truncations)
            return this.#readEvents(from, to, Math.min(limit, this.#s.rows.nextSeq));
          throw error;
        },
      );
  }

  /** Evicts the `count` oldest events now, and records the new floor durably (compacting when worth it). */
  evictPrefix(count: number): Promise<void> {
    if (count <= 0) return Promise.resolve();
    this.#s.rows.dropFront(count);
    if (this.#s.cache.firstSeq < this.#s.rows.firstSeq)
      this.#s.cache.evictPrefix(this.#s.rows.firstSeq - this.#s.cache.firstSeq);
    return this.#enqueueAfterSyncs(() => persistFloor(this.#s));
  }

  /** After every write queued before it: continue at `seq` in a fresh empty generation (no-op if seq ≤ nextSeq). */
  skipTo(seq: number): Promise<void> {
    return this.#enqueueAfterSyncs(() => skipNow(this.#s, seq));
  }

  /**
   * INTERNAL (replication): after every write queued before it, removes the events with
   * seq ≥ `seq` and makes the cut durable (both files truncated and fsynced) before resolving to
   * how many it removed (0 when seq ≥ nextSeq). Appends made after the call are written after the
   * cut, from seq `seq` on. `onCut(nextSeq)` is told the moment the events stop being visible.
   * A seq below the retention floor is SEQ_RANGE; a failed cut turns the file read-only.
   */
  truncateFrom(seq: number, onCut: (nextSeq: number) => void): Promise<number> {
    if (this.#closing !== null)
      return Promise.reject(new ClosedError(`file ${JSON.stringify(this.#s.options.channel)}`));
    // Appends already queued belong before the cut; later ones open a group written after it.
    this.#openGroup = null;
    let removed = 0;
    return this.#enqueueAfterSyncs(async () => {
      removed = await truncateNow(this.#s, seq, onCut);
    }).then(() => removed);
  }

  /** INTERNAL (replication): the channel's durable votes and leader epochs, next to its log. */
  get quorumState(): DiskQuorumState {
    this.#quorumState ??= new DiskQuorumState(
      this.#s.options.fs,
      this.#s.options.dir,
      this.#createdEmpty,
    );
    return this.#quorumState;
  }

  /** Flushes queued appends and fsyncs both files (and, on a new store, its manifest and directory). */
  sync(): Promise<void> {
    return this.#enqueueAfterSyncs(() => this.#s.syncNow('all', true));
  }

  /** Writes what is queued, fsyncs and closes; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#enqueueAfterSyncs(async () => {
          await this.#cutZeros();
          await this.#s.syncNow('all');
        });
      } finally {
        this.#s.syncTimer?.cancel();
        this.#s.syncTimer = null;
        await this.#s.generation.retire();
      }
    })();
    return this.#closing;
  }

  assertInvariants(): void {
    const previousEnd = this.#s.rows.checkInvariants();
    if (previousEnd !== -1 && previousEnd !== this.#s.dataSize)
      throw new Error('DiskLog invariant broken: data size');
    if (
      this.#s.indexSize !==
      FILE_HEADER_BYTES + (this.#s.rows.nextSeq - this.#s.generation.baseSeq) * INDEX_ENTRY_BYTES
    ) {
      throw new Error('DiskLog invariant broken: index size');
    }
    this.#published.assertInvariants(this.#s.rows.nextSeq, this.#s.readOnly !== null);
    this.#s.zeroedTail.assertInvariants(this.#s.dataSize);
    if (
      this.#s.cache.nextSeq !== this.#s.rows.nextSeq ||
      this.#s.cache.firstSeq < this.#s.rows.firstSeq
    )
      throw new Error('DiskLog invariant broken: cache');
    this.#s.cache.assertInvariants();
  }

  /** At close: a file at rest holds its records only (zeros a crash brings back are cut at open). */
  async #cutZeros(): Promise<void> {
    if (this.#s.zeroedTail.fileEnd === this.#s.dataSize || this.#s.readOnly !== null) return;
    try {
      await this.#s.generation.data.truncate(this.#s.dataSize);
      this.#s.zeroedTail.cut(this.#s.dataSize);
    } catch {
      // Zeros left past the data are harmless: recovery cuts them at the next open.
    }
  }

  /** `#enqueue`, once the fsyncs of published groups in flight have ended. */
  #enqueueAfterSyncs(operation: () => Promise<void>): Promise<void> {
    return this.#enqueue(async () => {
      await this.#published.drain();
      await operation();
    });
  }

  #enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(operation);
    this.#chain = run.catch(() => {});
    return run;
  }

  async #flush(group: PendingAppend[]): Promise<void> {
    if (this.#openGroup === group) this.#openGroup = null;
    if (this.#s.readOnly !== null) {
      for (const item of group) item.reject(this.#s.readOnly);
      return;
    }
    const { accepted, events, dataBytes } = admitGroup(
      group,
      this.#s.rows.nextSeq,
      this.#s.options.channel,
    );
    if (accepted.length === 0) return;
    this.#writingEnd = this.#s.rows.nextSeq + events;
    try {
      await this.#writeGroup(accepted, events, dataBytes);
    } finally {
      this.#writingEnd = null;
    }
  }

  async #writeGroup(accepted: PendingAppend[], events: number, dataBytes: number): Promise<void> {
    const always = this.#s.options.fsync === 'always';
    const shipEarly =
      always && this.#onWritten !== null && accepted.some((item) => item.shipEarly === true);
    // A group fsynced in line resolves after the published groups before it are durable.
    if (!shipEarly && this.#published.waiting) await this.#published.drain();
    const { index, buffers } = sealGroup(accepted, events, this.#s.dataSize, indexBuffer);

    const generation = this.#s.generation;
    const dataEnd = this.#s.dataSize + dataBytes;
    const zeroFill = always ? this.#s.zeroedTail.plan(dataEnd) : null;
    let stage = 'write';
    try {
      // Both writes at once (recovery drops index entries whose data never arrived), and both
      // settled before any rollback, so no write can land after the truncate. Zeros ahead of the
      // data (zero-fill.ts) go beside them; failing to write those fails no append.
      try {
        await settleAll([
          generation.data.writev(buffers, this.#s.dataSize),
          generation.index.write(index, this.#s.indexSize),
          ...(zeroFill === null ? [] : [this.#writeZeros(generation, zeroFill, dataEnd)]),
        ]);
      } finally {
        // Both writes are settled: nothing reads the index entries' buffer any more (one of
        // Node's slab is not the pool's, and is left alone).
        giveRecordBuffer(index);
      }
      this.#s.zeroedTail.wrote(dataEnd, zeroFill);
      this.#s.indexLagBytes += dataBytes;
      if (always && !shipEarly) {
        stage = 'fsync';
        // Only the data must be durable before the ack: recovery rebuilds index entries from it.
        await this.#s.syncData(generation);
      }
    } catch (error) {
      // After a failed fsync the kernel may have dropped dirty pages: never trust the file again.
      const failure = await this.#rollback(error, stage, stage === 'fsync');
      for (const item of accepted) item.reject(failure);
      return;
    }

    if (shipEarly) {
      // Replicas may fetch the group now; here it stays invisible until an fsync covers it.
      const visibleEnd = this.nextSeq;
      this.#publish(accepted, dataBytes, events);
      this.#published.add(accepted, visibleEnd);
      this.#onWritten?.();
      return;
    }
    this.#publish(accepted, dataBytes, events);
    this.#s.options.onChange();
    for (const item of accepted) item.resolve(item.firstSeq);
    if (!always) await this.#afterUnsyncedWrite(events, dataBytes);
  }

  async #writeZeros(generation: Generation, plan: ZeroFillPlan, dataEnd: number): Promise<void> {
    try {
      await generation.data.write(zeroBytes(plan.bytes), plan.from);
    } catch {
      this.#s.zeroedTail.disable(dataEnd, plan);
    }
  }

  /** A written group joins the rows and the cache (visible once no published fsync holds it back). */
  #publish(accepted: PendingAppend[], dataBytes: number, events: number): void {
    let offset = this.#s.dataSize;
    for (const item of accepted) {
      const records = item.records;
      if (item.run !== undefined) {
        this.#storeRun(item, item.run, offset);
        offset += records.byteLength;
        continue;
      }
      // The sealed records are never written to again: the cache keeps them as they are (a large
      // batch) or copies the payloads into its arenas (small ones), with no view per record.
      const adopt = records.byteLength >= ADOPT_RECORDS_BYTES_MIN;
      if (adopt) this.#s.cache.adoptArena(records);
      for (let at = 0; at < records.byteLength; ) {
        const length = records.readUInt32LE(at + 4);
        this.#s.rows.push(offset + at, length, item.timestampNs);
        if (adopt) this.#s.cache.pushAdopted(at + RECORD_HEADER_BYTES, length, item.timestampNs);
        else this.#s.cache.pushFrom(records, at + RECORD_HEADER_BYTES, length, item.timestampNs);
        at += RECORD_HEADER_BYTES + length;
      }
      offset += records.byteLength;
    }
    this.#s.dataSize += dataBytes;
    this.#s.indexSize += events * INDEX_ENTRY_BYTES;
    this.#trimCache();
  }

  /**
   * The fsync of a group published before it failed. Replicas may hold the group and commit may
   * count it without this node, so it is neither cut from the files nor withdrawn from shipping:
   * it stays invisible here, the file refuses every later write, and the appends' outcome is unknown.
   */
  #shippedSyncFailed(cause: unknown): IoError {
    const channel = JSON.stringify(this.#s.options.channel);
    this.#s.readOnly ??= new IoError(
      `channel ${channel} refuses writes after a failed fsync`,
      cause,
      true,
    );
    return new IoError(
      `append to channel ${channel} failed at the fsync after the events were offered to its replicas; they may still be committed by them (outcome unknown)`,
      cause,
      true,
    );
  }

  /**
   * Rows and cache entries of a written replicated chunk: the cache copies the payloads of a
   * small chunk from the received frame and starts after a large one (`CACHED_RUN_BYTES_MAX`), so
   * the records' pooled buffer is free again (and, once the append settles, the frame too).
   */
  #storeRun(item: PendingAppend, checked: CheckedRun, offset: number): void {
    this.#s.rows.pushRecords(offset, checked.run.lengths, item.count, item.timestampNs);
    const cache = this.#s.cache;
    if (checked.payloadBytes > CACHED_RUN_BYTES_MAX) cache.resetTo(cache.nextSeq + item.count);
    else cache.pushRun(checked, item.timestampNs);
    giveRecordBuffer(item.records);
  }

  /** Cuts both files back to their last committed size; if that fails, the file turns read-only. */
  async #rollback(cause: unknown, stage: string, forceReadOnly: boolean): Promise<IoError> {
    const generation = this.#s.generation;
    const channel = JSON.stringify(this.#s.options.channel);
    try {
      await generation.data.truncate(this.#s.dataSize);
      this.#s.zeroedTail.cut(this.#s.dataSize);
      await generation.index.truncate(this.#s.indexSize);
    } catch (truncateError) {
      this.#s.readOnly = new IoError(
        `channel ${channel} refuses writes: an append failed (${stage}) and could not be rolled back`,
        truncateError,
        true,
      );
      return new IoError(
        `append to channel ${channel} failed at the ${stage}; nothing was acknowledged`,
        cause,
        true,
      );
    }
    // Index pages of the failed group may have been written back before the cut; the next
    // group fsyncs the index too, so no stale entry can outlive it on disk.
    this.#s.indexLagBytes = INDEX_SYNC_LAG_BYTES;
    if (forceReadOnly) {
      this.#s.readOnly = new IoError(
        `channel ${channel} refuses writes after a failed fsync`,
        cause,
        true,
      );
    }
    return new IoError(
      `append to channel ${channel} failed at the ${stage}; nothing was written`,
      cause,
      forceReadOnly,
    );
  }

  async #afterUnsyncedWrite(events: number, bytes: number): Promise<void> {
    this.#s.dirty = true;
    this.#s.unsyncedEvents += events;
    this.#s.unsyncedBytes += bytes;
    const policy = this.#s.options.fsync;
    if (policy === 'never' || policy === 'always') return;
    if ('everyN' in policy) {
      if (this.#s.unsyncedEvents >= policy.everyN) await this.#s.syncNow();
      return;
    }
    if (policy.maxBytes !== undefined && this.#s.unsyncedBytes >= policy.maxBytes) {
      await this.#s.syncNow();
      return;
    }
    this.#s.syncTimer ??= this.#s.options.clock.setTimer(policy.intervalMs, () => {
      this.#s.syncTimer = null;
      void this.#enqueue(() => this.#s.syncNow()).catch(() => {});
    });
  }

  #trimCache(): void {
    const cache = this.#s.cache;
    let bytes = cache.payloadBytes;
    let drop = 0;
    while (bytes > this.#s.options.cacheBytes && drop < cache.count) {
      bytes -= cache.lengthAt(cache.firstSeq + drop);
      drop++;
    }
    cache.evictPrefix(drop);
  }
}
