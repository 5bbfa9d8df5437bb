// An in-memory FileSystem for the deterministic simulation and for tests. Every operation
// completes as a microtask, so runs in virtual time are reproducible (real file I/O finishes on
// libuv's thread pool at times no seed controls). It models what a power cut does: each file
// keeps its last fsynced contents plus, optionally, a prefix of what was written after
// (`crash(keepUnsynced)`), so recovery code meets torn tails as it would on a real disk. With
// `durableEntries`, it also models directories: a crash keeps only the entries (files, sub-
// directories, renames, deletions) a directory had at its last `syncDir`, so tests can check
// which creations survive.

import { basename, dirname, join } from 'node:path';
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

export interface MemoryFileSystemOptions {
  /** Whether a crash also forgets directory entries made since the directory's last syncDir. */
  readonly durableEntries?: boolean;
}

export class MemoryFileSystem implements FileSystem {
  readonly #files = new Map<string, MemoryInode>();
  readonly #dirs = new Set<string>(['/']);
  /** Incremented by `crash`: handles opened before it fail from then on. */
  #epoch = 0;
  /** With `durableEntries`: each directory's entries as of its last syncDir (null: a directory). */
  readonly #synced: Map<string, Map<string, MemoryInode | null>> | null;

  constructor(options: MemoryFileSystemOptions = {}) {
    this.#synced = options.durableEntries === true ? new Map([['/', new Map()]]) : null;
  }

  /** Directories, sorted (for tests). */
  get dirs(): string[] {
    return [...this.#dirs].sort();
  }

  /** Paths of every file, sorted (for tests). */
  get paths(): string[] {
    return [...this.#files.keys()].sort();
  }

  /** Forget everything not fsynced; `keepUnsynced(path, unsyncedBytes)` may keep a prefix of it. */
  crash(keepUnsynced: (path: string, unsyncedBytes: number) => number = () => 0): void {
    this.#epoch++;
    // Every file a crash may bring back: the current ones, and those only a synced directory names.
    const inodes = new Map<MemoryInode, string>();
    for (const [path, inode] of this.#files) inodes.set(inode, path);
    for (const [dir, entries] of this.#synced ?? []) {
      for (const [name, inode] of entries)
        if (inode !== null && !inodes.has(inode)) inodes.set(inode, join(dir, name));
    }
    for (const [inode, path] of inodes) {
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
    if (this.#synced !== null) this.#restoreSyncedEntries(this.#synced);
  }

  /** After a crash: only what the directories held at their last syncDir, from the root down. */
  #restoreSyncedEntries(synced: Map<string, Map<string, MemoryInode | null>>): void {
    this.#files.clear();
    this.#dirs.clear();
    const pending = ['/'];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      this.#dirs.add(dir);
      for (const [name, inode] of synced.get(dir) ?? []) {
        const path = join(dir, name);
        if (inode === null) pending.push(path);
        else this.#files.set(path, inode);
      }
    }
    for (const dir of [...synced.keys()]) if (!this.#dirs.has(dir)) synced.delete(dir);
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
    if (this.#synced === null) return;
    const entries = new Map<string, MemoryInode | null>();
    for (const [file, inode] of this.#files)
      if (dirname(file) === path) entries.set(basename(file), inode);
    for (const dir of this.#dirs)
      if (dir !== path && dirname(dir) === path) entries.set(basename(dir), null);
    this.#synced.set(path, entries);
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
