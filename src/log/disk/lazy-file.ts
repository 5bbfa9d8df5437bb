// A file whose descriptor is opened on first use and can be given back while the file is idle. A
// node holds thousands of channels, two files each, most of them idle: keeping every descriptor
// open would exhaust the process's limit (often 20,000 or fewer) before 10,000 channels. The log
// releases both descriptors once a channel is opened and recovered; its first read or write opens
// them again, for good.

import type { FileSystem, FsFile } from './fs.js';

function closedError(path: string): NodeJS.ErrnoException {
  const error = new Error(`EBADF: ${path} is closed`) as NodeJS.ErrnoException;
  error.code = 'EBADF';
  return error;
}

export class LazyFile implements FsFile {
  readonly #fs: FileSystem;
  readonly #path: string;
  #handle: Promise<FsFile> | null;
  /** The descriptor once open: operations then call it directly, with no extra await. */
  #open: FsFile | null;
  #closed = false;

  /** `open`: a descriptor the caller already holds, or null to open on first use. */
  constructor(fs: FileSystem, path: string, open: FsFile | null = null) {
    this.#fs = fs;
    this.#path = path;
    this.#handle = open === null ? null : Promise.resolve(open);
    this.#open = open;
  }

  /** Whether a descriptor is held (for tests). */
  get isOpen(): boolean {
    return this.#handle !== null;
  }

  #file(): Promise<FsFile> {
    if (this.#closed) return Promise.reject(closedError(this.#path));
    if (this.#handle === null) {
      const opening = this.#fs.open(this.#path, 'readwrite');
      this.#handle = opening;
      opening.then(
        (file) => {
          if (this.#handle === opening) this.#open = file;
        },
        () => {
          // A failed open is tried again by the next operation.
          if (this.#handle === opening) this.#handle = null;
        },
      );
    }
    return this.#handle;
  }

  write(data: Uint8Array, position: number): Promise<void> {
    if (this.#open !== null) return this.#open.write(data, position);
    return this.#file().then((file) => file.write(data, position));
  }

  writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    if (this.#open !== null) return this.#open.writev(buffers, position);
    return this.#file().then((file) => file.writev(buffers, position));
  }

  read(into: Uint8Array, position: number): Promise<number> {
    if (this.#open !== null) return this.#open.read(into, position);
    return this.#file().then((file) => file.read(into, position));
  }

  size(): Promise<number> {
    if (this.#open !== null) return this.#open.size();
    return this.#file().then((file) => file.size());
  }

  truncate(size: number): Promise<void> {
    if (this.#open !== null) return this.#open.truncate(size);
    return this.#file().then((file) => file.truncate(size));
  }

  sync(): Promise<void> {
    if (this.#open !== null) return this.#open.sync();
    return this.#file().then((file) => file.sync());
  }

  /**
   * Closes the descriptor; the next operation opens the file again. Only while no operation is
   * in flight and nothing written through it awaits an fsync (a write-back error seen by the old
   * descriptor would not be reported to the new one).
   */
  async release(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    this.#open = null;
    if (handle !== null) await (await handle).close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const handle = this.#handle;
    this.#handle = null;
    this.#open = null;
    if (handle !== null)
      await handle.then(
        (file) => file.close(),
        () => {},
      );
  }
}
