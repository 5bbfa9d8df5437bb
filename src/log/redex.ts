// The manager of a process's channels: opens each name once, hands back the same handle on a
// reopen with the same config, and sweeps retention over every open file.

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
import { ClosedError, RedexError, RedexErrorCode } from './errors.js';
import { RedexFile } from './redex-file.js';

export interface RedexOptions {
  /** Directory for persistent files; without it every file is in memory. */
  readonly dir?: string;
  readonly clock?: Clock;
  readonly random?: Random;
}

interface OpenEntry {
  readonly config: ResolvedFileConfig;
  readonly file: Promise<RedexFile>;
}

export class Redex {
  readonly dir: string | null;
  readonly clock: Clock;
  readonly random: Random;
  readonly #files = new Map<string, OpenEntry>();
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
      const open = this.#files.get(name);
      if (open !== undefined) {
        if (!sameFileConfig(open.config, resolved)) {
          throw new RedexError(
            RedexErrorCode.Config,
            `channel ${JSON.stringify(name)} is already open with a different config; close it first`,
          );
        }
        return open.file;
      }
      if (resolved.persistent) {
        if (this.dir === null) {
          throw new RedexError(
            RedexErrorCode.Config,
            `channel ${JSON.stringify(name)} asks for persistent: true but this Redex has no 'dir'`,
          );
        }
        throw new RedexError(
          RedexErrorCode.Config,
          'persistent files are not available in this version yet',
        );
      }
      const file = new RedexFile(name, resolved, {
        clock: this.clock,
        onClosed: (closed) => {
          if (this.#files.get(name)?.config === resolved) this.#files.delete(closed.name);
        },
      });
      const entry: OpenEntry = { config: resolved, file: Promise.resolve(file) };
      this.#files.set(name, entry);
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

  /** Closes `name` and deletes its data. */
  async closeAndUnlinkFile(name: string): Promise<void> {
    validateChannelName(name);
    await this.closeFile(name);
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
}
