// The manager of a process's channels: opens each name once, hands back the same handle on a
// reopen with the same config, places persistent channels under its directory, and sweeps
// retention over every open file.
//
// Replication: the replication layer installs a `ReplicationAttachment` (see
// replication-attachment.ts; `enableReplication(redex, host)` in src/replication/ does it). The
// log never imports replication: it only validates, compares and hands over configs through that
// interface. RedexFile itself only knows the small `FileReplication` hook.

import { join } from 'node:path';
import type { Clock } from '../time/clock.js';
import { type Random, systemRandom } from '../time/random.js';
import { systemClock } from '../time/system-clock.js';
import { validateChannelName } from './channel-name.js';
import {
  type RedexFileConfig,
  type ResolvedFileConfig,
  resolveFileConfig,
  sameFileConfig,
} from './config.js';
import { CoalescingDirSync } from './disk/dir-sync.js';
import { DiskLog, removeStore } from './disk/disk-log.js';
import { STORE_DIR_NAME } from './disk/format.js';
import { type FileSystem, nodeFileSystem } from './disk/fs.js';
import { ClosedError, IoError, RedexError, RedexErrorCode } from './errors.js';
import { MemoryStore } from './memory-store.js';
import { RedexFile } from './redex-file.js';
import type { ReplicationAttachment } from './replication-attachment.js';

export interface RedexOptions {
  /** Directory for persistent files; without it every file is in memory. */
  readonly dir?: string;
  readonly clock?: Clock;
  readonly random?: Random;
  /** The file system persistent files use (tests inject failures through it). */
  readonly fs?: FileSystem;
}

interface OpenEntry {
  readonly config: ResolvedFileConfig;
  /** The validated replication config; null for a file that is not replicated. */
  readonly replication: object | null;
  readonly file: Promise<RedexFile>;
}

export class Redex {
  readonly dir: string | null;
  readonly clock: Clock;
  readonly random: Random;
  readonly fs: FileSystem;
  readonly #files = new Map<string, OpenEntry>();
  /** Channels created at once share the fsyncs of their common parent directories. */
  readonly #dirSync: CoalescingDirSync;
  #replication: ReplicationAttachment | null = null;
  #closed = false;

  constructor(options: RedexOptions = {}) {
    if (
      options.dir !== undefined &&
      (typeof options.dir !== 'string' || options.dir.length === 0)
    ) {
      throw new RedexError(
        RedexErrorCode.Config,
        `option 'dir' must be a non-empty path, got ${JSON.stringify(options.dir)}`,
      );
    }
    this.dir = options.dir ?? null;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.fs = options.fs ?? nodeFileSystem;
    const fs = this.fs;
    this.#dirSync = new CoalescingDirSync((path) => fs.syncDir(path));
  }

  /**
   * INTERNAL (called by `enableReplication` in src/replication/): installs the replication layer.
   * From then on a file opened with a `replication` config is validated and attached through it.
   * Once only; the caller decides what a second enabling means.
   */
  attachReplication(attachment: ReplicationAttachment): void {
    if (this.#closed) throw new ClosedError('this Redex manager');
    if (this.#replication !== null) {
      throw new RedexError(RedexErrorCode.Config, 'replication is already enabled on this Redex');
    }
    this.#replication = attachment;
  }

  /** The installed replication layer, once replication was enabled. */
  get replication(): ReplicationAttachment | null {
    return this.#replication;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Names of the open files, sorted. */
  get fileNames(): string[] {
    return [...this.#files.keys()].sort();
  }

  /**
   * Opens `name`, or returns the handle already open under it. Reopening with a different config
   * is a CONFIG error: two callers must not believe different things about one channel.
   */
  openFile(name: string, config: RedexFileConfig = {}): Promise<RedexFile> {
    try {
      if (this.#closed) throw new ClosedError('this Redex manager');
      validateChannelName(name);
      const resolved = resolveFileConfig(config);
      const replication = this.#resolveReplication(name, resolved);
      const open = this.#files.get(name);
      if (open !== undefined) {
        if (
          !sameFileConfig(
            { ...open.config, replication: null },
            { ...resolved, replication: null },
          ) ||
          !this.#sameReplication(open.replication, replication)
        ) {
          throw new RedexError(
            RedexErrorCode.Config,
            `channel ${JSON.stringify(name)} is already open with a different config; close it first`,
          );
        }
        return open.file;
      }
      if (resolved.persistent && this.dir === null) {
        throw new RedexError(
          RedexErrorCode.Config,
          `channel ${JSON.stringify(name)} asks for persistent: true but this Redex has no 'dir'`,
        );
      }
      const entry: OpenEntry = {
        config: resolved,
        replication,
        file: this.#createFile(name, resolved, replication),
      };
      this.#files.set(name, entry);
      // A failed open must not poison the name: the next open tries again.
      entry.file.catch(() => {
        if (this.#files.get(name) === entry) this.#files.delete(name);
      });
      return entry.file;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The open handle for `name`, if any. */
  async getFile(name: string): Promise<RedexFile | undefined> {
    return this.#files.get(name)?.file;
  }

  /** Closes `name`; resolves to false when it was not open. */
  async closeFile(name: string): Promise<boolean> {
    const entry = this.#files.get(name);
    if (entry === undefined) return false;
    const file = await entry.file;
    await file.close();
    return true;
  }

  /** Closes `name` if open and deletes its data (a persistent channel's files, open or not). */
  async closeAndUnlinkFile(name: string): Promise<void> {
    validateChannelName(name);
    await this.closeFile(name);
    if (this.dir === null) return;
    const { storeDir, parentDirs } = this.#paths(name);
    try {
      await removeStore(this.fs, storeDir, parentDirs);
    } catch (error) {
      throw new IoError(
        `deleting the files of channel ${JSON.stringify(name)} in ${storeDir} failed`,
        error,
      );
    }
  }

  /** Runs every open file's retention policy; resolves to the total number of events evicted. */
  async sweepRetention(): Promise<number> {
    let evicted = 0;
    for (const entry of [...this.#files.values()]) {
      const file = await entry.file;
      if (!file.closed) evicted += await file.sweepRetention();
    }
    return evicted;
  }

  /** Closes every file; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const name of [...this.#files.keys()]) await this.closeFile(name);
  }

  /** Validates the file's replication config; replication must be enabled to use one. */
  #resolveReplication(name: string, resolved: ResolvedFileConfig): object | null {
    if (resolved.replication === null) return null;
    if (this.#replication === null) {
      throw new RedexError(
        RedexErrorCode.Config,
        `channel ${JSON.stringify(name)} has a replication config but replication is not enabled on this Redex; call enableReplication(redex, host) first`,
      );
    }
    return this.#replication.resolveConfig(resolved.replication);
  }

  /** Whether two resolved replication configs are the same (both absent counts). */
  #sameReplication(a: object | null, b: object | null): boolean {
    if (a === null || b === null) return a === b;
    return this.#replication!.sameConfig(a, b);
  }

  /** `<dir>/<name segments>/@redex`, and the directories between `dir` and it. */
  #paths(name: string): { storeDir: string; parentDirs: string[] } {
    const parentDirs: string[] = [];
    let current = this.dir!;
    for (const segment of name.split('/')) {
      current = join(current, segment);
      parentDirs.push(current);
    }
    return { storeDir: join(current, STORE_DIR_NAME), parentDirs };
  }

  async #createFile(
    name: string,
    config: ResolvedFileConfig,
    replication: object | null,
  ): Promise<RedexFile> {
    const file = await this.#createStorage(name, config);
    if (replication === null) return file;
    try {
      await this.#replication!.attach(file, replication);
    } catch (error) {
      await file.close().catch(() => {});
      throw error;
    }
    return file;
  }

  async #createStorage(name: string, config: ResolvedFileConfig): Promise<RedexFile> {
    const deps = {
      clock: this.clock,
      onClosed: (closed: RedexFile) => {
        if (this.#files.get(name)?.config === config) this.#files.delete(closed.name);
      },
    };
    if (!config.persistent)
      return new RedexFile(name, config, { kind: 'memory', store: new MemoryStore() }, deps);
    const { storeDir, parentDirs } = this.#paths(name);
    let file: RedexFile | null = null;
    let disk: DiskLog;
    try {
      disk = await DiskLog.open({
        fs: this.fs,
        clock: this.clock,
        dir: storeDir,
        parentDirs: [this.dir!, ...parentDirs],
        syncDir: (path) => this.#dirSync.sync(path),
        channel: name,
        fsync: config.fsync,
        cacheBytes: config.cacheBytes,
        onChange: () => file?.pokeTails(),
      });
    } catch (error) {
      if (error instanceof RedexError) throw error;
      throw new IoError(`opening channel ${JSON.stringify(name)} in ${storeDir} failed`, error);
    }
    file = new RedexFile(name, config, { kind: 'disk', store: disk }, deps);
    return file;
  }
}
