// A file system whose operations take virtual time on a bounded thread pool, for the simulated
// mesh: the model of libuv's pool in front of a real disk that a node's thousands of vote writes
// queue on. Every asynchronous operation (open, close, fsync, directory calls, reads) holds one of
// `threads` slots for its duration, first come first served; a small write goes straight to the
// page cache without the pool, as NodeFile's synchronous pwrite does. Data lives in a
// MemoryFileSystem underneath.
//
// The default costs are from this machine's disk: 64 threads doing open, 512-byte write, fdatasync
// and close of distinct files reach about 3,000 fdatasyncs per second (15 ms each at 64 in flight),
// shared by the two surviving nodes of a failover; so an fdatasync holds a thread 30 ms here
// (about 2,100 per second per node) and every other call 0.5 ms.

import type { FileSystem, FsFile } from '../../src/log/disk/fs.js';
import { MemoryFileSystem } from '../../src/log/disk/memory-fs.js';
import type { Clock } from '../../src/time/clock.js';

export interface PooledDiskOptions {
  readonly clock: Clock;
  /** Concurrent operations (libuv's UV_THREADPOOL_SIZE). */
  readonly threads?: number;
  /** Virtual ms an fsync (file or directory) holds a thread. */
  readonly syncMs?: number;
  /** Virtual ms any other pooled call holds a thread. */
  readonly callMs?: number;
}

/** Counts of what went through the pool, and the deepest its queue got. */
export interface PoolStats {
  /** Virtual ms an fsync holds a thread from now on (a test may slow the disk down mid-run). */
  syncMs: number;
  calls: number;
  syncs: number;
  maxQueued: number;
}

class ThreadPool {
  readonly #clock: Clock;
  readonly #threads: number;
  #busy = 0;
  readonly #queue: Array<() => void> = [];
  readonly stats: PoolStats;

  constructor(clock: Clock, threads: number, syncMs: number) {
    this.#clock = clock;
    this.#threads = threads;
    this.stats = { syncMs, calls: 0, syncs: 0, maxQueued: 0 };
  }

  /** Runs `body` once a thread is free and `ms` of virtual time passed on it. */
  run<T>(ms: number, body: () => Promise<T>): Promise<T> {
    this.stats.calls++;
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.#busy++;
        this.#clock.setTimer(ms, () => {
          body().then(resolve, reject);
          this.#busy--;
          this.#queue.shift()?.();
        });
      };
      if (this.#busy < this.#threads) start();
      else {
        this.#queue.push(start);
        this.stats.maxQueued = Math.max(this.stats.maxQueued, this.#queue.length);
      }
    });
  }
}

/** A MemoryFileSystem behind a virtual thread pool; `stats` counts the calls. */
export function pooledDisk(options: PooledDiskOptions): { fs: FileSystem; stats: PoolStats } {
  const memory = new MemoryFileSystem();
  const pool = new ThreadPool(options.clock, options.threads ?? 64, options.syncMs ?? 30);
  const callMs = options.callMs ?? 0.5;
  const call = <T>(body: () => Promise<T>) => pool.run(callMs, body);
  const sync = <T>(body: () => Promise<T>) => {
    pool.stats.syncs++;
    return pool.run(pool.stats.syncMs, body);
  };
  const wrap = (file: FsFile): FsFile => ({
    write: (data, position) => file.write(data, position),
    writev: (buffers, position) => file.writev(buffers, position),
    read: (into, position) => call(() => file.read(into, position)),
    size: () => call(() => file.size()),
    truncate: (size) => call(() => file.truncate(size)),
    sync: () => sync(() => file.sync()),
    close: () => call(() => file.close()),
  });
  const fs: FileSystem = {
    open: (path, mode) => call(async () => wrap(await memory.open(path, mode))),
    mkdir: (path) => call(() => memory.mkdir(path)),
    readdir: (path) => call(() => memory.readdir(path)),
    exists: (path) => call(() => memory.exists(path)),
    rename: (from, to) => call(() => memory.rename(from, to)),
    unlink: (path) => call(() => memory.unlink(path)),
    rmdirIfEmpty: (path) => call(() => memory.rmdirIfEmpty(path)),
    syncDir: (path) => sync(() => memory.syncDir(path)),
  };
  return { fs, stats: pool.stats };
}
