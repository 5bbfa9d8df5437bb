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
// Called by `RedexFile` (src/log/redex-file.ts). Its helpers, which hold no state of their own:
// recovery at open (recovery.ts), the in-memory row index (rows.ts), admitting and sealing a group
// (group-commit.ts), reads past the cache (disk-read.ts), the compaction copy (compaction.ts), and
// creating, switching and removing the store's files (store-files.ts).

import type { Clock, TimerHandle } from '../../time/clock.js';
import type { FsyncPolicy } from '../config.js';
import { ClosedError, IoError, RedexError, RedexErrorCode } from '../errors.js';
import type { RedexEvent } from '../event.js';
import { MemoryStore } from '../memory-store.js';
import type { CheckedRun } from '../payload-run.js';
import type { PageSource } from '../read-page.js';
import { buildCompactedIndex, COMPACT_DEAD_BYTES_MIN, copyLiveRecords } from './compaction.js';
import { planDiskRead, readDisk } from './disk-read.js';
import {
  encodeRunRecords,
  encodeUnsealedRecords,
  FILE_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  type Manifest,
  parseGenerationFileName,
  RECORD_HEADER_BYTES,
} from './format.js';
import type { FileSystem } from './fs.js';
import {
  type Generation,
  isCreationManifest,
  openGeneration,
  writeManifest,
} from './generation.js';
import { admitGroup, type PendingAppend, sealGroup } from './group-commit.js';
import { PublishedSyncs } from './published-syncs.js';
import { DiskQuorumState, isQuorumStateFileName } from './quorum-state.js';
import { giveRecordBuffer, takeRecordBuffer } from './record-pool.js';
import { recoverGeneration } from './recovery.js';
import { RowIndex } from './rows.js';
import { settleAll } from './settle.js';
import {
  findManifest,
  initializeStore,
  makeStoreDurable,
  removeSwitchLeftovers,
  writeNextGeneration,
} from './store-files.js';
import { ZeroedTail, type ZeroFillPlan, zeroBytes } from './zero-fill.js';

// Moved to their own modules; still exported here for the code and tests that import them from here.
export { COMPACT_DEAD_BYTES_MIN } from './compaction.js';
export { removeStore } from './store-files.js';

/** Sealed records at least this large are kept by the cache as an arena of their own, not copied. */
const ADOPT_RECORDS_BYTES_MIN = 64 << 10;
/**
 * The index is a hint recovery checks against the data, so it is fsynced lazily: on `sync()`,
 * `close()`, truncation and generation switches, and alongside the data's fsync once this many
 * data bytes were written since its last fsync. This bounds the data a recovery after a power cut
 * must scan to rebuild the index.
 */
export const INDEX_SYNC_LAG_BYTES = 16 << 20;

export interface DiskLogOptions {
  readonly fs: FileSystem;
  readonly clock: Clock;
  /** The channel's store directory. */
  readonly dir: string;
  readonly channel: string;
  readonly fsync: FsyncPolicy;
  /** Most recent payload bytes kept in memory for reads and tails. */
  readonly cacheBytes: number;
  /** Told whenever events become visible or the seq range changes (to wake tails). */
  readonly onChange: () => void;
  readonly compactDeadBytesMin?: number;
  /** Directories between the manager's root and `dir`, made durable when the store is created. */
  readonly parentDirs?: readonly string[];
  /** Fsyncs a directory; the manager passes one that shares each fsync between channels. */
  readonly syncDir?: (path: string) => Promise<void>;
}

/** The directory fsync the options give, or the file system's own. */
function syncDirOf(options: DiskLogOptions): (path: string) => Promise<void> {
  return options.syncDir ?? ((path: string) => options.fs.syncDir(path));
}

export class DiskLog {
  readonly #options: DiskLogOptions;
  /** The in-memory index of the retained events. */
  readonly #rows: RowIndex;
  #generation: Generation;
  #highestGeneration: number;
  #dataSize = FILE_HEADER_BYTES;
  #indexSize = FILE_HEADER_BYTES;
  #cache: MemoryStore;
  #chain: Promise<void> = Promise.resolve();
  /** The group that appends join; its flush is already queued. Null when none is open. */
  #openGroup: PendingAppend[] | null = null;
  /** Counts truncations, so a disk read planned before one can tell its plan went stale. */
  #truncations = 0;
  #readOnly: IoError | null = null;
  /** While a group is written: the next seq once it lands. */
  #writingEnd: number | null = null;
  #dirty = false;
  /** Data bytes written since the index was last fsynced (0: the index is durable). */
  #indexLagBytes = 0;
  #unsyncedEvents = 0;
  #unsyncedBytes = 0;
  #syncTimer: TimerHandle | null = null;
  #closing: Promise<void> | null = null;
  /** Zeros written past the data under `fsync: always` (zero-fill.ts). */
  #zeroedTail = new ZeroedTail(FILE_HEADER_BYTES);
  #quorumState: DiskQuorumState | null = null;
  /** Told when a group with `shipEarly` appends is written, before its fsync. */
  #onWritten: (() => void) | null = null;
  /** Groups published before their fsync: the rows hold them, `nextSeq` stops before them. */
  readonly #published = new PublishedSyncs({
    writtenEnd: () => this.#rows.nextSeq,
    fsync: () => this.#syncData(this.#generation),
    onDurable: () => this.#options.onChange(),
    onFailed: (cause) => this.#shippedSyncFailed(cause),
  });
  /**
   * True while the store may still be as its creation left it, not fsynced (the creation manifest
   * is in force): the first fsync of anything in it makes the whole store durable first.
   */
  #storePending: boolean;
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
    this.#options = options;
    this.#storePending = storePending;
    this.#generation = generation;
    this.#highestGeneration = highestGeneration;
    this.#rows = new RowIndex(generation.baseSeq);
    this.#cache = new MemoryStore(generation.baseSeq);
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
      await log.#generation.release();
    } catch (error) {
      await log.#generation.close();
      throw error;
    }
    return log;
  }

  async #recover(manifest: Manifest, names: string[]): Promise<void> {
    const { fs, dir } = this.#options;
    const result = await recoverGeneration(this.#generation, this.#rows.sink());
    this.repairs.push(...result.repairs);
    this.#dataSize = result.dataSize;
    this.#indexSize = result.indexSize;
    this.#zeroedTail = new ZeroedTail(result.dataSize);
    // Leftovers of an interrupted generation switch. Only names this code writes are touched.
    await removeSwitchLeftovers(fs, dir, names, manifest, this.repairs);
    const storedNext = this.#generation.baseSeq + this.#rows.count;
    if (manifest.firstSeq > storedNext) {
      // Retention had moved past records that did not survive the crash: continue at the floor.
      await this.#enqueue(() => this.#skipNow(manifest.firstSeq));
    } else {
      this.#rows.dropFront(manifest.firstSeq - this.#generation.baseSeq);
    }
    this.#cache = new MemoryStore(this.nextSeq);
  }

  get firstSeq(): number {
    return this.#rows.firstSeq;
  }

  get nextSeq(): number {
    return this.#published.durableEnd ?? this.#rows.nextSeq;
  }

  /**
   * INTERNAL (replication): the end of what is written, fsynced or not: `nextSeq` plus a group
   * published before its fsync (see the file's header).
   */
  get writtenNextSeq(): number {
    return this.#rows.nextSeq;
  }

  /** INTERNAL (replication): this log as the leader ships it, written events included. */
  readonly written: PageSource = ((log: DiskLog): PageSource => ({
    get firstSeq(): number {
      return log.#rows.firstSeq;
    },
    get nextSeq(): number {
      return log.#rows.nextSeq;
    },
    lengthAt: (seq) => log.#rows.lengthAt(seq),
    readEvents: (from, to) => log.#readEvents(from, to, log.#rows.nextSeq),
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
    return this.#writingEnd ?? this.#rows.nextSeq;
  }

  /** Visible events (a group published before its fsync is not counted yet). */
  get count(): number {
    return this.#rows.count - (this.#rows.nextSeq - this.nextSeq);
  }

  get payloadBytes(): number {
    return this.#rows.payloadBytes;
  }

  /** Set once a failure could not be rolled back; every later write fails with it. */
  get readOnly(): IoError | null {
    return this.#readOnly;
  }

  get dataPath(): string {
    return this.#generation.dataPath;
  }

  lengthAt(seq: number): number {
    return this.#rows.lengthAt(seq);
  }

  timestampAt(seq: number): bigint {
    return this.#rows.timestampAt(seq);
  }

  /**
   * Appends a batch once every write queued before it is done; resolves to its first seq after
   * the bytes are written (and fsynced under `always`). `expected` guards the first seq;
   * `precondition`, when given, must still hold as the group is written (else LEADERSHIP_LOST).
   * A run checked by `checkPayloadRun` (a replicated chunk) is encoded straight from its buffer
   * into a pooled one (record-pool.ts) and the cache keeps its payloads, so the caller must never
   * write to `run.bytes` again.
   */
  append(
    batch: readonly Uint8Array[] | CheckedRun,
    timestampNs: bigint,
    expected: number | null,
    precondition: (() => boolean) | null = null,
    shipEarly = false,
  ): Promise<number | null> {
    if (this.#closing !== null)
      return Promise.reject(new ClosedError(`file ${JSON.stringify(this.#options.channel)}`));
    if (this.#readOnly !== null) return Promise.reject(this.#readOnly);
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
    const start = Math.max(from, this.#rows.firstSeq);
    const end = Math.min(to, limit);
    if (start >= end) return [];
    const cache = this.#cache;
    if (start >= cache.firstSeq) return cache.readEvents(start, end);
    const diskEnd = Math.min(end, cache.firstSeq);
    const fromCache = end > diskEnd ? cache.readEvents(diskEnd, end) : [];
    const plan = planDiskRead(this.#rows.deque, this.#rows.firstSeq, start, diskEnd);
    const truncations = this.#truncations;
    return this.#generation
      .read((generation) => readDisk(generation, plan))
      .then(
        (events) => {
          // A truncation while the read ran may have cut what it read: read again, within the new end.
          if (truncations !== this.#truncations)
            return this.#readEvents(from, to, Math.min(limit, this.#rows.nextSeq));
          for (const event of fromCache) events.push(event);
          return events;
        },
        (error: unknown) => {
          if (truncations !== this.#truncations)
            return this.#readEvents(from, to, Math.min(limit, this.#rows.nextSeq));
          throw error;
        },
      );
  }

  /** Evicts the `count` oldest events now, and records the new floor durably (compacting when worth it). */
  evictPrefix(count: number): Promise<void> {
    if (count <= 0) return Promise.resolve();
    this.#rows.dropFront(count);
    if (this.#cache.firstSeq < this.#rows.firstSeq)
      this.#cache.evictPrefix(this.#rows.firstSeq - this.#cache.firstSeq);
    return this.#enqueueAfterSyncs(() => this.#persistFloor());
  }

  /** After every write queued before it: continue at `seq` in a fresh empty generation (no-op if seq ≤ nextSeq). */
  skipTo(seq: number): Promise<void> {
    return this.#enqueueAfterSyncs(() => this.#skipNow(seq));
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
      return Promise.reject(new ClosedError(`file ${JSON.stringify(this.#options.channel)}`));
    // Appends already queued belong before the cut; later ones open a group written after it.
    this.#openGroup = null;
    let removed = 0;
    return this.#enqueueAfterSyncs(async () => {
      removed = await this.#truncateNow(seq, onCut);
    }).then(() => removed);
  }

  /** INTERNAL (replication): the channel's durable votes and leader epochs, next to its log. */
  get quorumState(): DiskQuorumState {
    this.#quorumState ??= new DiskQuorumState(
      this.#options.fs,
      this.#options.dir,
      this.#createdEmpty,
    );
    return this.#quorumState;
  }

  /** Flushes queued appends and fsyncs both files (and, on a new store, its manifest and directory). */
  sync(): Promise<void> {
    return this.#enqueueAfterSyncs(() => this.#syncNow('all', true));
  }

  /** Writes what is queued, fsyncs and closes; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#enqueueAfterSyncs(async () => {
          await this.#cutZeros();
          await this.#syncNow('all');
        });
      } finally {
        this.#syncTimer?.cancel();
        this.#syncTimer = null;
        await this.#generation.retire();
      }
    })();
    return this.#closing;
  }

  assertInvariants(): void {
    const previousEnd = this.#rows.checkInvariants();
    if (previousEnd !== -1 && previousEnd !== this.#dataSize)
      throw new Error('DiskLog invariant broken: data size');
    if (
      this.#indexSize !==
      FILE_HEADER_BYTES + (this.#rows.nextSeq - this.#generation.baseSeq) * INDEX_ENTRY_BYTES
    ) {
      throw new Error('DiskLog invariant broken: index size');
    }
    this.#published.assertInvariants(this.#rows.nextSeq, this.#readOnly !== null);
    this.#zeroedTail.assertInvariants(this.#dataSize);
    if (this.#cache.nextSeq !== this.#rows.nextSeq || this.#cache.firstSeq < this.#rows.firstSeq)
      throw new Error('DiskLog invariant broken: cache');
    this.#cache.assertInvariants();
  }

  /** At close: a file at rest holds its records only (zeros a crash brings back are cut at open). */
  async #cutZeros(): Promise<void> {
    if (this.#zeroedTail.fileEnd === this.#dataSize || this.#readOnly !== null) return;
    try {
      await this.#generation.data.truncate(this.#dataSize);
      this.#zeroedTail.cut(this.#dataSize);
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
    if (this.#readOnly !== null) {
      for (const item of group) item.reject(this.#readOnly);
      return;
    }
    const { accepted, events, dataBytes } = admitGroup(
      group,
      this.#rows.nextSeq,
      this.#options.channel,
    );
    if (accepted.length === 0) return;
    this.#writingEnd = this.#rows.nextSeq + events;
    try {
      await this.#writeGroup(accepted, events, dataBytes);
    } finally {
      this.#writingEnd = null;
    }
  }

  async #writeGroup(accepted: PendingAppend[], events: number, dataBytes: number): Promise<void> {
    const always = this.#options.fsync === 'always';
    const shipEarly =
      always && this.#onWritten !== null && accepted.some((item) => item.shipEarly === true);
    // A group fsynced in line resolves after the published groups before it are durable.
    if (!shipEarly && this.#published.waiting) await this.#published.drain();
    const { index, buffers } = sealGroup(accepted, events, this.#dataSize);

    const generation = this.#generation;
    const dataEnd = this.#dataSize + dataBytes;
    const zeroFill = always ? this.#zeroedTail.plan(dataEnd) : null;
    let stage = 'write';
    try {
      // Both writes at once (recovery drops index entries whose data never arrived), and both
      // settled before any rollback, so no write can land after the truncate. Zeros ahead of the
      // data (zero-fill.ts) go beside them; failing to write those fails no append.
      await settleAll([
        generation.data.writev(buffers, this.#dataSize),
        generation.index.write(index, this.#indexSize),
        ...(zeroFill === null ? [] : [this.#writeZeros(generation, zeroFill, dataEnd)]),
      ]);
      this.#zeroedTail.wrote(dataEnd, zeroFill);
      this.#indexLagBytes += dataBytes;
      if (always && !shipEarly) {
        stage = 'fsync';
        // Only the data must be durable before the ack: recovery rebuilds index entries from it.
        await this.#syncData(generation);
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
    this.#options.onChange();
    for (const item of accepted) item.resolve(item.firstSeq);
    if (!always) await this.#afterUnsyncedWrite(events, dataBytes);
  }

  async #writeZeros(generation: Generation, plan: ZeroFillPlan, dataEnd: number): Promise<void> {
    try {
      await generation.data.write(zeroBytes(plan.bytes), plan.from);
    } catch {
      this.#zeroedTail.disable(dataEnd, plan);
    }
  }

  /** The data fsync of a group (and the index's, when it lags far enough). */
  async #syncData(generation: Generation): Promise<void> {
    if (this.#indexLagBytes < INDEX_SYNC_LAG_BYTES) {
      await settleAll([
        generation.data.sync(),
        this.#ensureStoreDurable({ data: true, index: false }),
      ]);
      return;
    }
    // Groups written while the index is fsynced keep their share of the lag.
    const lag = this.#indexLagBytes;
    await settleAll([
      generation.data.sync(),
      generation.index.sync(),
      this.#ensureStoreDurable({ data: true, index: true }),
    ]);
    this.#indexLagBytes -= lag;
  }

  /** A written group joins the rows and the cache (visible once no published fsync holds it back). */
  #publish(accepted: PendingAppend[], dataBytes: number, events: number): void {
    let offset = this.#dataSize;
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
      if (adopt) this.#cache.adoptArena(records);
      for (let at = 0; at < records.byteLength; ) {
        const length = records.readUInt32LE(at + 4);
        this.#rows.push(offset + at, length, item.timestampNs);
        if (adopt) this.#cache.pushAdopted(at + RECORD_HEADER_BYTES, length, item.timestampNs);
        else this.#cache.pushFrom(records, at + RECORD_HEADER_BYTES, length, item.timestampNs);
        at += RECORD_HEADER_BYTES + length;
      }
      offset += records.byteLength;
    }
    this.#dataSize += dataBytes;
    this.#indexSize += events * INDEX_ENTRY_BYTES;
    this.#trimCache();
  }

  /**
   * The fsync of a group published before it failed. Replicas may hold the group and commit may
   * count it without this node, so it is neither cut from the files nor withdrawn from shipping:
   * it stays invisible here, the file refuses every later write, and the appends' outcome is unknown.
   */
  #shippedSyncFailed(cause: unknown): IoError {
    const channel = JSON.stringify(this.#options.channel);
    this.#readOnly ??= new IoError(
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
   * Rows and cache entries of a written replicated chunk: the cache keeps the chunk's own
   * payloads (adopting its buffer when large), so the records' pooled buffer is free again.
   */
  #storeRun(item: PendingAppend, checked: CheckedRun, offset: number): void {
    const lengths = checked.run.lengths;
    let at = offset;
    for (let i = 0; i < item.count; i++) {
      this.#rows.push(at, lengths[i]!, item.timestampNs);
      at += RECORD_HEADER_BYTES + lengths[i]!;
    }
    this.#cache.pushRun(checked, item.timestampNs);
    giveRecordBuffer(item.records);
  }

  /** Cuts both files back to their last committed size; if that fails, the file turns read-only. */
  async #rollback(cause: unknown, stage: string, forceReadOnly: boolean): Promise<IoError> {
    const generation = this.#generation;
    const channel = JSON.stringify(this.#options.channel);
    try {
      await generation.data.truncate(this.#dataSize);
      this.#zeroedTail.cut(this.#dataSize);
      await generation.index.truncate(this.#indexSize);
    } catch (truncateError) {
      this.#readOnly = new IoError(
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
    this.#indexLagBytes = INDEX_SYNC_LAG_BYTES;
    if (forceReadOnly) {
      this.#readOnly = new IoError(
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
    this.#dirty = true;
    this.#unsyncedEvents += events;
    this.#unsyncedBytes += bytes;
    const policy = this.#options.fsync;
    if (policy === 'never' || policy === 'always') return;
    if ('everyN' in policy) {
      if (this.#unsyncedEvents >= policy.everyN) await this.#syncNow();
      return;
    }
    if (policy.maxBytes !== undefined && this.#unsyncedBytes >= policy.maxBytes) {
      await this.#syncNow();
      return;
    }
    this.#syncTimer ??= this.#options.clock.setTimer(policy.intervalMs, () => {
      this.#syncTimer = null;
      void this.#enqueue(() => this.#syncNow()).catch(() => {});
    });
  }

  /**
   * Fsyncs the data if it is dirty, and the index when `index` is 'all' and it lags at all, or
   * when it lags by at least INDEX_SYNC_LAG_BYTES (policy-driven syncs). A new store's first fsync
   * comes with the first of these that fsyncs anything, or with `store` (an explicit `sync()`).
   */
  async #syncNow(index: 'all' | 'lagging' = 'lagging', store = false): Promise<void> {
    const syncIndex =
      index === 'all' ? this.#indexLagBytes > 0 : this.#indexLagBytes >= INDEX_SYNC_LAG_BYTES;
    if (!this.#dirty && !syncIndex && !(store && this.#storePending)) return;
    const generation = this.#generation;
    try {
      const operations: Promise<void>[] = [];
      if (this.#dirty) operations.push(generation.data.sync());
      if (syncIndex) operations.push(this.#syncIndex(generation));
      operations.push(this.#ensureStoreDurable({ data: this.#dirty, index: syncIndex }));
      await settleAll(operations);
    } catch (error) {
      this.#readOnly = new IoError(
        `channel ${JSON.stringify(this.#options.channel)} refuses writes after a failed fsync`,
        error,
        true,
      );
      throw this.#readOnly;
    }
    this.#dirty = false;
    this.#unsyncedEvents = 0;
    this.#unsyncedBytes = 0;
    this.#syncTimer?.cancel();
    this.#syncTimer = null;
  }

  /**
   * The store's first fsync, if it has not had one (see `makeStoreDurable`), alongside an fsync
   * of the files `syncing` names, which the caller runs itself.
   */
  async #ensureStoreDurable(syncing: { data: boolean; index: boolean }): Promise<void> {
    if (!this.#storePending) return;
    const { fs, dir } = this.#options;
    const generation = this.#generation;
    const files = [
      ...(syncing.data ? [] : [generation.data]),
      ...(syncing.index ? [] : [generation.index]),
    ];
    await makeStoreDurable(fs, dir, files, syncDirOf(this.#options));
    this.#storePending = false;
  }

  async #syncIndex(generation: Generation): Promise<void> {
    await generation.index.sync();
    this.#indexLagBytes = 0;
  }

  #trimCache(): void {
    const cache = this.#cache;
    let bytes = cache.payloadBytes;
    let drop = 0;
    while (bytes > this.#options.cacheBytes && drop < cache.count) {
      bytes -= cache.lengthAt(cache.firstSeq + drop);
      drop++;
    }
    cache.evictPrefix(drop);
  }

  async #persistFloor(): Promise<void> {
    if (this.#readOnly !== null) throw this.#readOnly;
    const deadEnd = this.#rows.count > 0 ? this.#rows.offsetOf(0) : this.#dataSize;
    const deadBytes = deadEnd - FILE_HEADER_BYTES;
    const liveBytes = this.#dataSize - deadEnd;
    const minimum = this.#options.compactDeadBytesMin ?? COMPACT_DEAD_BYTES_MIN;
    if (deadBytes >= minimum && deadBytes >= liveBytes) {
      await this.#compact();
      return;
    }
    const { fs, dir } = this.#options;
    try {
      // The manifest is about to become durable: so must the files it names.
      await this.#ensureStoreDurable({ data: false, index: false });
      await writeManifest(fs, dir, {
        generation: this.#generation.number,
        baseSeq: this.#generation.baseSeq,
        firstSeq: this.#rows.firstSeq,
      });
    } catch (error) {
      // Either manifest (old floor or new) describes a valid log; only the floor's durability is lost.
      throw new IoError(
        `recording the retention floor of channel ${JSON.stringify(this.#options.channel)} failed`,
        error,
      );
    }
  }

  /** Copies the live records into a new generation and switches to it. */
  async #compact(): Promise<void> {
    const old = this.#generation;
    const rows = this.#rows;
    const startOffset = rows.count > 0 ? rows.offsetOf(0) : this.#dataSize;
    const endOffset = this.#dataSize;
    const baseSeq = rows.firstSeq;
    const shift = startOffset - FILE_HEADER_BYTES;
    // The index of the copy is built now: evictions may drop rows while the copy runs.
    const entries = rows.count;
    const index = buildCompactedIndex(rows.deque, shift);
    await this.#switchGeneration(
      baseSeq,
      (next) => copyLiveRecords(old, next, startOffset, endOffset, shift, index),
      () => {
        this.#rows.shiftOffsets(shift);
        this.#dataSize = endOffset - shift;
        this.#indexSize = FILE_HEADER_BYTES + entries * INDEX_ENTRY_BYTES;
      },
    );
  }

  async #truncateNow(seq: number, onCut: (nextSeq: number) => void): Promise<number> {
    if (seq >= this.#rows.nextSeq) return 0;
    if (this.#readOnly !== null) throw this.#readOnly;
    const channel = JSON.stringify(this.#options.channel);
    if (seq < this.#rows.firstSeq) {
      throw new RedexError(
        RedexErrorCode.SeqRange,
        `cannot truncate channel ${channel} from seq ${seq}: its retained events start at ${this.#rows.firstSeq}`,
      );
    }
    const rows = this.#rows;
    const keep = seq - rows.firstSeq;
    const removed = rows.count - keep;
    const dataEnd = rows.offsetOf(keep);
    const indexEnd = FILE_HEADER_BYTES + (seq - this.#generation.baseSeq) * INDEX_ENTRY_BYTES;
    // The cut is visible at once: from here no read plans on the removed records.
    rows.dropAfter(keep);
    if (seq >= this.#cache.firstSeq) this.#cache.truncateFrom(seq);
    else this.#cache.resetTo(seq);
    this.#dataSize = dataEnd;
    this.#indexSize = indexEnd;
    this.#truncations++;
    try {
      onCut(seq);
    } catch {
      // A listener must not throw; one that does cannot stop the cut.
    }
    this.#options.onChange();
    const generation = this.#generation;
    try {
      // Either order recovers to a prefix; data first makes an interrupted cut land on `seq`
      // more often (recovery drops index entries that point past the data).
      await generation.data.truncate(dataEnd);
      this.#zeroedTail.cut(dataEnd);
      await generation.index.truncate(indexEnd);
      await settleAll([
        generation.data.sync(),
        generation.index.sync(),
        this.#ensureStoreDurable({ data: true, index: true }),
      ]);
    } catch (error) {
      this.#readOnly = new IoError(
        `channel ${channel} refuses writes: truncating it from seq ${seq} failed, so what its files hold is unknown`,
        error,
        true,
      );
      throw this.#readOnly;
    }
    // Everything kept was fsynced with the cut.
    this.#dirty = false;
    this.#indexLagBytes = 0;
    this.#unsyncedEvents = 0;
    this.#unsyncedBytes = 0;
    this.#syncTimer?.cancel();
    this.#syncTimer = null;
    return removed;
  }

  async #skipNow(seq: number): Promise<void> {
    if (seq <= this.#rows.nextSeq) return;
    if (this.#readOnly !== null) throw this.#readOnly;
    await this.#switchGeneration(
      seq,
      async () => {},
      () => {
        this.#rows.dropFront(this.#rows.count);
        this.#rows.firstSeq = seq;
        this.#cache.resetTo(seq);
        this.#dataSize = FILE_HEADER_BYTES;
        this.#indexSize = FILE_HEADER_BYTES;
      },
    );
    this.#options.onChange();
  }

  /**
   * Writes a new generation with `fill`, makes it durable, points the manifest at it
   * (temp → fsync → rename → fsync dir) and then `apply`s the switch in memory. A failure before
   * the rename leaves the old generation in force and removes the new files; a failure after it
   * switches anyway (the manifest already names the new files) and turns the file read-only,
   * because whether the switch survives a crash is unknown.
   */
  async #switchGeneration(
    baseSeq: number,
    fill: (next: Generation) => Promise<void>,
    apply: () => void,
  ): Promise<void> {
    const { fs, dir, channel } = this.#options;
    const number = ++this.#highestGeneration;
    const next = await writeNextGeneration(fs, dir, channel, number, baseSeq, fill);
    const old = this.#generation;
    this.#generation = next;
    // Both new files were fsynced above, and the manifest naming them.
    this.#indexLagBytes = 0;
    this.#storePending = false;
    apply();
    this.#zeroedTail = new ZeroedTail(this.#dataSize);
    try {
      await fs.syncDir(dir);
    } catch (error) {
      this.#readOnly = new IoError(
        `channel ${JSON.stringify(channel)} refuses writes: the switch to generation ${number} may not be durable`,
        error,
        true,
      );
      throw this.#readOnly;
    } finally {
      await old.retire();
    }
    // The old files are dead now; if removing them fails, the next open removes them.
    await Promise.allSettled([fs.unlink(old.dataPath), fs.unlink(old.indexPath)]);
  }
}
