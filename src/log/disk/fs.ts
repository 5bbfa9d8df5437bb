// The file-system operations persistent files use, behind an interface so tests can fail any one
// of them (ENOSPC, EIO, a short write) at any step and check that nothing is lost or half-visible.

import {
  closeSync,
  constants,
  fdatasync,
  open as fsOpen,
  promises as fsp,
  read as fsRead,
  fstatSync,
  write as fsWrite,
  writev as fsWritev,
  fsync,
  ftruncate,
  openSync,
  readdirSync,
  writeSync,
  writevSync,
} from 'node:fs';

export interface FsFile {
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Writes the buffers back to back from `position`, in as few system calls as it can. */
  writev(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `into`; resolves to the bytes read. */
  read(into: Uint8Array, position: number): Promise<number>;
  size(): Promise<number>;
  truncate(size: number): Promise<void>;
  /** Flushes the file's data (and the metadata needed to read it back) to stable storage. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** `create` makes the file if missing (never truncates); `read` fails if missing. */
  open(path: string, mode: 'read' | 'readwrite' | 'create'): Promise<FsFile>;
  /** Creates `path` and its missing parents. */
  mkdir(path: string): Promise<void>;
  /** Entry names in `path`; an empty list if it does not exist. */
  readdir(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes an empty directory; a no-op when it is missing or not empty. */
  rmdirIfEmpty(path: string): Promise<void>;
  /** Makes renames, creations and deletions inside `path` durable. */
  syncDir(path: string): Promise<void>;
}

/**
 * Writes up to this size go straight to the page cache with a synchronous pwrite: that takes a few
 * microseconds, far less than a round trip through libuv's thread pool, which would otherwise
 * bound a single writer's throughput. Larger writes and every fsync stay asynchronous.
 */
export const SYNC_WRITE_BYTES_MAX = 256 * 1024;

/** The error an operation on a closed (or closing) file gets, as the file system would give it. */
function closedFileError(): NodeJS.ErrnoException {
  return Object.assign(new Error('EBADF: file already closed'), { code: 'EBADF' });
}

/**
 * A file on a raw descriptor (a FileHandle is a heavier object for the collector). Closing is
 * synchronous like the small writes: it changes nothing on disk (microseconds), while a round
 * trip through the thread pool costs a wake-up of a pool thread and a switch back, which weighed
 * on the creation of thousands of channels at once on a small machine. Reads, large writes,
 * truncation and fsync stay asynchronous. A close waits for the operations in flight, so the
 * descriptor number is never reused under one of them.
 */
class NodeFile implements FsFile {
  #fd: number;
  #closing: Promise<void> | null = null;
  /** Asynchronous operations in flight on the descriptor; a close waits until none is left. */
  #inFlight = 0;
  #drained: (() => void) | null = null;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The descriptor, while the file is open and no close was asked for. */
  #open(): number {
    if (this.#closing !== null) throw closedFileError();
    return this.#fd;
  }

  /** Runs one callback-style operation on the descriptor in the thread pool. */
  async #pooled<T>(
    operation: (fd: number, done: (error: Error | null, result: T) => void) => void,
  ): Promise<T> {
    const fd = this.#open();
    this.#inFlight++;
    try {
      return await new Promise<T>((resolve, reject) => {
        operation(fd, (error, result) => (error ? reject(error) : resolve(result)));
      });
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let written = 0;
    if (data.byteLength <= SYNC_WRITE_BYTES_MAX) {
      const fd = this.#open();
      while (written < data.byteLength) {
        written += writeSync(fd, data, written, data.byteLength - written, position + written);
      }
      return;
    }
    while (written < data.byteLength) {
      written += await this.#pooled<number>((fd, done) =>
        fsWrite(fd, data, written, data.byteLength - written, position + written, done),
      );
    }
  }

  async writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    if (buffers.length === 1) return this.write(buffers[0]!, position);
    let total = 0;
    for (const buffer of buffers) total += buffer.byteLength;
    const bytesWritten =
      total <= SYNC_WRITE_BYTES_MAX
        ? writevSync(this.#open(), buffers as Uint8Array[], position)
        : await this.#pooled<number>((fd, done) =>
            fsWritev(fd, buffers as Uint8Array[], position, done),
          );
    if (bytesWritten === total) return;
    // A short writev: finish buffer by buffer from where it stopped.
    let skip = bytesWritten;
    let at = position + bytesWritten;
    for (const buffer of buffers) {
      if (skip >= buffer.byteLength) {
        skip -= buffer.byteLength;
        continue;
      }
      await this.write(buffer.subarray(skip), at);
      at += buffer.byteLength - skip;
      skip = 0;
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    let total = 0;
    while (total < into.byteLength) {
      const bytesRead = await this.#pooled<number>((fd, done) =>
        fsRead(fd, into, total, into.byteLength - total, position + total, done),
      );
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  async size(): Promise<number> {
    return fstatSync(this.#open()).size;
  }

  truncate(size: number): Promise<void> {
    return this.#pooled<void>((fd, done) => ftruncate(fd, size, (error) => done(error, undefined)));
  }

  sync(): Promise<void> {
    return this.#pooled<void>((fd, done) => fdatasync(fd, (error) => done(error, undefined)));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
      const fd = this.#fd;
      this.#fd = -1;
      closeSync(fd);
    })();
    return this.#closing;
  }
}

export const nodeFileSystem: FileSystem = {
  async open(path, mode) {
    const flags =
      mode === 'read'
        ? constants.O_RDONLY
        : mode === 'readwrite'
          ? constants.O_RDWR
          : constants.O_RDWR | constants.O_CREAT;
    // In the thread pool, even for a file that exists: a create is a journalled change that waits
    // for the journal's commit while other files are fsynced, and an open of an existing file can
    // wait behind a create in the same directory (measured synchronously, with thousands of
    // channels opening: half a millisecond per create, 2.3 s of a node's main thread at 3,000).
    // Owner-only: event payloads are nobody else's business, whatever the umask allows.
    const fd = await new Promise<number>((resolve, reject) => {
      fsOpen(path, flags, 0o600, (error, opened) => (error ? reject(error) : resolve(opened)));
    });
    return new NodeFile(fd);
  },
  // Journalled metadata changes, like creating a file: in the thread pool.
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true, mode: 0o700 });
  },
  // Listing a store's few entries changes nothing: synchronous.
  async readdir(path) {
    try {
      return readdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  },
  async exists(path) {
    try {
      await fsp.stat(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  async rmdirIfEmpty(path) {
    try {
      await fsp.rmdir(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  },
  async syncDir(path) {
    // Opening and closing a directory read-only touches no data (microseconds, like the small
    // synchronous writes above); only the fsync goes to the thread pool. One round trip instead
    // of three matters when thousands of channels are created at once.
    const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await new Promise<void>((resolve, reject) => {
        fsync(fd, (error) => (error ? reject(error) : resolve()));
      });
    } finally {
      closeSync(fd);
    }
  },
};
