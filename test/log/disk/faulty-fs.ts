// A FileSystem that records every operation and can fail the n-th one, once (a transient error)
// or from then on (a crash: nothing after that point reaches the disk).

import type { FileSystem, FsFile } from '../../../src/log/disk/fs.js';
import { nodeFileSystem } from '../../../src/log/disk/fs.js';

export type FaultMode = 'once' | 'crash';

export class FaultyFs implements FileSystem {
  readonly inner: FileSystem;
  readonly ops: string[] = [];
  #failAt: number | null = null;
  #mode: FaultMode = 'once';
  #code = 'EIO';
  #tripped = false;
  /** Whether the failure just reported is the armed one (not a later one of a crash). */
  firstFailure = false;
  /** A failing write first writes this fraction of its bytes (a torn write). */
  partialWriteFraction = 0.5;

  constructor(inner: FileSystem = nodeFileSystem) {
    this.inner = inner;
  }

  /** Fails the operation `index` operations from now. */
  arm(index: number, mode: FaultMode = 'once', code = 'EIO'): void {
    this.#failAt = this.ops.length + index;
    this.#mode = mode;
    this.#code = code;
    this.#tripped = false;
  }

  disarm(): void {
    this.#failAt = null;
    this.#tripped = false;
  }

  get tripped(): boolean {
    return this.#tripped;
  }

  /** Counts `op` and says whether it must fail. */
  check(op: string): Error | null {
    const index = this.ops.length;
    this.ops.push(op);
    const fail =
      this.#failAt !== null &&
      (index === this.#failAt || (this.#mode === 'crash' && index > this.#failAt));
    if (!fail) return null;
    this.firstFailure = index === this.#failAt;
    this.#tripped = true;
    const error = new Error(
      `injected ${this.#code} at operation ${index} (${op})`,
    ) as NodeJS.ErrnoException;
    error.code = this.#code;
    return error;
  }

  async open(path: string, mode: 'read' | 'readwrite' | 'create'): Promise<FsFile> {
    const failure = this.check(`open:${mode}:${base(path)}`);
    if (failure) throw failure;
    return new FaultyFile(this, path, await this.inner.open(path, mode));
  }

  async mkdir(path: string): Promise<void> {
    const failure = this.check(`mkdir:${base(path)}`);
    if (failure) throw failure;
    return this.inner.mkdir(path);
  }

  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const failure = this.check(`rename:${base(from)}->${base(to)}`);
    if (failure) throw failure;
    return this.inner.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    const failure = this.check(`unlink:${base(path)}`);
    if (failure) throw failure;
    return this.inner.unlink(path);
  }

  async rmdirIfEmpty(path: string): Promise<void> {
    const failure = this.check(`rmdir:${base(path)}`);
    if (failure) throw failure;
    return this.inner.rmdirIfEmpty(path);
  }

  async syncDir(path: string): Promise<void> {
    const failure = this.check(`syncDir:${base(path)}`);
    if (failure) throw failure;
    return this.inner.syncDir(path);
  }
}

class FaultyFile implements FsFile {
  readonly #fs: FaultyFs;
  readonly #name: string;
  readonly #inner: FsFile;

  constructor(fs: FaultyFs, path: string, inner: FsFile) {
    this.#fs = fs;
    this.#name = base(path);
    this.#inner = inner;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    const failure = this.#fs.check(`write:${this.#name}`);
    if (failure) {
      const partial = Math.floor(data.byteLength * this.#fs.partialWriteFraction);
      // In crash mode nothing reaches the disk after the fault; a transient failure may tear.
      if (partial > 0 && this.#fs.firstFailure)
        await this.#inner.write(data.subarray(0, partial), position);
      throw failure;
    }
    return this.#inner.write(data, position);
  }

  async writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    const joined = Buffer.concat(buffers as Uint8Array[]);
    return this.write(joined, position);
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return this.#inner.read(into, position);
  }

  size(): Promise<number> {
    return this.#inner.size();
  }

  async truncate(size: number): Promise<void> {
    const failure = this.#fs.check(`truncate:${this.#name}`);
    if (failure) throw failure;
    return this.#inner.truncate(size);
  }

  async sync(): Promise<void> {
    const failure = this.#fs.check(`sync:${this.#name}`);
    if (failure) throw failure;
    return this.#inner.sync();
  }

  close(): Promise<void> {
    // Closing never fails here: a crash closes every descriptor anyway.
    return this.#inner.close();
  }
}

function base(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1]!;
}
