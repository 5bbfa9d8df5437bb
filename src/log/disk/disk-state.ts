// DEV DOCS — what one channel's persistent log shares between its parts: the write path
// (disk-log.ts), the policy-driven and explicit fsyncs (here), and the cuts that truncate, skip or
// compact it (log-cuts.ts). Everything here runs inside the log's one promise chain, so no two
// of them change this state at once; the fields are public to those modules, not to the package.

import type { Clock, TimerHandle } from '../../time/clock.js';
import type { FsyncPolicy } from '../config.js';
import { IoError } from '../errors.js';
import { MemoryStore } from '../memory-store.js';
import { FILE_HEADER_BYTES } from './format.js';
import type { FileSystem } from './fs.js';
import type { Generation } from './generation.js';
import { RowIndex } from './rows.js';
import { settleAll } from './settle.js';
import { makeStoreDurable } from './store-files.js';
import { ZeroedTail } from './zero-fill.js';

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
export function syncDirOf(options: DiskLogOptions): (path: string) => Promise<void> {
  return options.syncDir ?? ((path: string) => options.fs.syncDir(path));
}

export class DiskState {
  readonly options: DiskLogOptions;
  /** The in-memory index of the retained events. */
  readonly rows: RowIndex;
  generation: Generation;
  highestGeneration: number;
  dataSize = FILE_HEADER_BYTES;
  indexSize = FILE_HEADER_BYTES;
  cache: MemoryStore;
  /** Counts truncations, so a disk read planned before one can tell its plan went stale. */
  truncations = 0;
  /** Set once a failure could not be rolled back; every later write fails with it. */
  readOnly: IoError | null = null;
  dirty = false;
  /** Data bytes written since the index was last fsynced (0: the index is durable). */
  indexLagBytes = 0;
  unsyncedEvents = 0;
  unsyncedBytes = 0;
  syncTimer: TimerHandle | null = null;
  /** Zeros written past the data under `fsync: always` (zero-fill.ts). */
  zeroedTail = new ZeroedTail(FILE_HEADER_BYTES);
  /**
   * True while the store may still be as its creation left it, not fsynced (the creation manifest
   * is in force): the first fsync of anything in it makes the whole store durable first.
   */
  storePending: boolean;

  constructor(
    options: DiskLogOptions,
    generation: Generation,
    highestGeneration: number,
    storePending: boolean,
  ) {
    this.options = options;
    this.storePending = storePending;
    this.generation = generation;
    this.highestGeneration = highestGeneration;
    this.rows = new RowIndex(generation.baseSeq);
    this.cache = new MemoryStore(generation.baseSeq);
  }

  /**
   * Fsyncs the data if it is dirty, and the index when `index` is 'all' and it lags at all, or
   * when it lags by at least INDEX_SYNC_LAG_BYTES (policy-driven syncs). A new store's first fsync
   * comes with the first of these that fsyncs anything, or with `store` (an explicit `sync()`).
   */
  async syncNow(index: 'all' | 'lagging' = 'lagging', store = false): Promise<void> {
    const syncIndex =
      index === 'all' ? this.indexLagBytes > 0 : this.indexLagBytes >= INDEX_SYNC_LAG_BYTES;
    if (!this.dirty && !syncIndex && !(store && this.storePending)) return;
    const generation = this.generation;
    try {
      const operations: Promise<void>[] = [];
      if (this.dirty) operations.push(generation.data.sync());
      if (syncIndex) operations.push(this.syncIndex(generation));
      operations.push(this.ensureStoreDurable({ data: this.dirty, index: syncIndex }));
      await settleAll(operations);
    } catch (error) {
      this.readOnly = new IoError(
        `channel ${JSON.stringify(this.options.channel)} refuses writes after a failed fsync`,
        error,
        true,
      );
      throw this.readOnly;
    }
    this.clearUnsynced();
  }

  /** An fsync covered everything written: nothing is dirty and no policy sync is due. */
  clearUnsynced(): void {
    this.dirty = false;
    this.unsyncedEvents = 0;
    this.unsyncedBytes = 0;
    this.syncTimer?.cancel();
    this.syncTimer = null;
  }

  /**
   * The store's first fsync, if it has not had one (see `makeStoreDurable`), alongside an fsync
   * of the files `syncing` names, which the caller runs itself.
   */
  async ensureStoreDurable(syncing: { data: boolean; index: boolean }): Promise<void> {
    if (!this.storePending) return;
    const { fs, dir } = this.options;
    const generation = this.generation;
    const files = [
      ...(syncing.data ? [] : [generation.data]),
      ...(syncing.index ? [] : [generation.index]),
    ];
    await makeStoreDurable(fs, dir, files, syncDirOf(this.options));
    this.storePending = false;
  }

  async syncIndex(generation: Generation): Promise<void> {
    await generation.index.sync();
    this.indexLagBytes = 0;
  }

  /** The data fsync of a group (and the index's, when it lags far enough). */
  async syncData(generation: Generation): Promise<void> {
    if (this.indexLagBytes < INDEX_SYNC_LAG_BYTES) {
      await settleAll([
        generation.data.sync(),
        this.ensureStoreDurable({ data: true, index: false }),
      ]);
      return;
    }
    // Groups written while the index is fsynced keep their share of the lag.
    const lag = this.indexLagBytes;
    await settleAll([
      generation.data.sync(),
      generation.index.sync(),
      this.ensureStoreDurable({ data: true, index: true }),
    ]);
    this.indexLagBytes -= lag;
  }
}
