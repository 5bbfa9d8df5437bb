// An in-memory FileSystem for the deterministic simulation and for tests. Every operation
// completes as a microtask, so runs in virtual time are reproducible (real file I/O finishes on
// libuv's thread pool at times no seed controls). It models what a power cut does: each file
// keeps its last fsynced contents plus, optionally, a prefix of what was written after
// (`crash(keepUnsynced)`), so recovery code meets torn tails as it would on a real disk.

import { dirname } from 'node:path';
import type { FileSystem, FsFile } from './fs.js';

interface MemoryInode {
  /** Current contents (what reads see). */
  bytes: Uint8Array;
  size: number;
  /** Contents as of the last fsync. */
  durable: Uint8Array;
}

function enoent(path: string): NodeJS.ErrnoException {
  const error = new Error(`ENOENT: no such file or directory, '${path}'`) as NodeJS.ErrnoException;
  error.code = 'ENOENT';
  return error;
}

function ebadf(): NodeJS.ErrnoException {
  const error = new Error('EBADF: bad file descriptor') as NodeJS.ErrnoException;
  error.code = 'EBADF';
  return error;
}

export class MemoryFileSystem implements FileSystem {
  readonly #files = new Map<string, MemoryInode>();
  readonly #dirs = new Set<string>(['/']);
  /** Incremented by `crash`: handles opened before it fail from then on. */
  #epoch = 0;

  /** Paths of every file, sorted (for tests). */
  get paths(): string[] {
    return [...this.#files.keys()].sort();
  }

  /** Forget everything not fsynced; `keepUnsynced(path, unsyncedBytes)` may keep a prefix of it. */
  crash(keepUnsynced: (path: string, unsyncedBytes: number) => number = () => 0): void {
    this.#epoch++;
    for (const [path, inode] of this.#files) {
      const unsynced = Math.max(0, inode.size - inode.durable.byteLength);
      const keep = Math.min(unsynced, Math.max(0, Math.floor(keepUnsynced(path, unsynced))));
      const survivor = new Uint8Array(inode.durable.byteLength + keep);
      survivor.set(inode.durable);
      survivor.set(
        inode.bytes.subarray(inode.durable.byteLength, inode.durable.byteLength + keep),
        inode.durable.byteLength,
      );
      inode.bytes = survivor;
      inode.size = survivor.byteLength;
      inode.durable = survivor.slice();
    }
  }

  async open(path: string, mode: 'read' | 'readwrite' | 'create'): Promise<FsFile> {
    let inode = this.#files.get(path);
    if (inode === undefined) {
      if (mode !== 'create') throw enoent(path);
      if (!this.#dirs.has(dirname(path))) throw enoent(dirname(path));
      inode = { bytes: new Uint8Array(0), size: 0, durable: new Uint8Array(0) };
      this.#files.set(path, inode);
    }
    return new MemoryFile(this, inode, this.#epoch);
  }

  async mkdir(path: string): Promise<void> {
    for (let current = path; !this.#dirs.has(current); current = dirname(current))
      this.#dirs.add(current);
  }

  async readdir(path: string): Promise<string[]> {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const names = new Set<string>();
    for (const entry of [...this.#files.keys(), ...this.#dirs]) {
      if (entry.startsWith(prefix) && entry.length > prefix.length)
        names.add(entry.slice(prefix.length).split('/')[0]!);
    }
    return [...names].sort();
  }

  async exists(path: string): Promise<boolean> {
    return this.#files.has(path) || this.#dirs.has(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const inode = this.#files.get(from);
    if (inode === undefined) throw enoent(from);
    this.#files.delete(from);
    this.#files.set(to, inode);
  }

  async unlink(path: string): Promise<void> {
    if (!this.#files.delete(path)) throw enoent(path);
  }

  async rmdirIfEmpty(path: string): Promise<void> {
    if ((await this.readdir(path)).length === 0) this.#dirs.delete(path);
  }

  async syncDir(path: string): Promise<void> {
    if (!this.#dirs.has(path)) throw enoent(path);
  }

  /** Used by handles: whether a crash happened since they were opened. */
  isCurrent(epoch: number): boolean {
    return epoch === this.#epoch;
  }
}

class MemoryFile implements FsFile {
  readonly #fs: MemoryFileSystem;
  readonly #inode: MemoryInode;
  readonly #epoch: number;
  #closed = false;

  constructor(fs: MemoryFileSystem, inode: MemoryInode, epoch: number) {
    this.#fs = fs;
    this.#inode = inode;
    this.#epoch = epoch;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.#check();
    const inode = this.#inode;
    const end = position + data.byteLength;
    if (end > inode.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(end, inode.bytes.byteLength * 2));
      grown.set(inode.bytes.subarray(0, inode.size));
      inode.bytes = grown;
    }
    inode.bytes.set(data, position);
    inode.size = Math.max(inode.size, end);
  }

  async writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    let at = position;
    for (const buffer of buffers) {
      await this.write(buffer, at);
      at += buffer.byteLength;
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    this.#check();
    const available = Math.max(0, Math.min(into.byteLength, this.#inode.size - position));
    into.set(this.#inode.bytes.subarray(position, position + available));
    return available;
  }

  async size(): Promise<number> {
    this.#check();
    return this.#inode.size;
  }

  async truncate(size: number): Promise<void> {
    this.#check();
    const inode = this.#inode;
    if (size < inode.size) {
      inode.bytes.fill(0, size, inode.size);
    } else if (size > inode.bytes.byteLength) {
      const grown = new Uint8Array(size);
      grown.set(inode.bytes.subarray(0, inode.size));
      inode.bytes = grown;
    }
    inode.size = size;
    if (inode.durable.byteLength > size) inode.durable = inode.durable.slice(0, size);
  }

  async sync(): Promise<void> {
    this.#check();
    this.#inode.durable = this.#inode.bytes.slice(0, this.#inode.size);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(): void {
    if (this.#closed || !this.#fs.isCurrent(this.#epoch)) throw ebadf();
  }
}
