// A MemoryFileSystem whose reads or writes of chosen files wait at a gate until released, so a
// test can hold a disk operation in flight while it does something else (deterministically).

import type { FsFile } from '../../../src/log/disk/fs.js';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';

export type GatedOp = 'read' | 'write' | 'sync';

export class GatedFs extends MemoryFileSystem {
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;
  #fail: ((error: Error) => void) | null = null;
  #op: GatedOp = 'read';
  #suffix = '.dat';

  /** From now on, `op`s on files whose path ends with `suffix` wait until `release`. */
  hold(op: GatedOp, suffix = '.dat'): void {
    this.#op = op;
    this.#suffix = suffix;
    this.#gate = new Promise((resolve, reject) => {
      this.#open = resolve;
      this.#fail = reject;
    });
    // A gate that is never failed must not count as an unhandled rejection either.
    this.#gate.catch(() => {});
  }

  release(): void {
    this.#gate = null;
    this.#open?.();
  }

  /** The operations waiting at the gate fail with `error` instead (a failed fsync, say). */
  failHeld(error: Error): void {
    this.#gate = null;
    this.#fail?.(error);
  }

  override async open(path: string, mode: 'read' | 'readwrite' | 'create'): Promise<FsFile> {
    const file = await super.open(path, mode);
    const waitFor = async (op: GatedOp) => {
      if (this.#gate !== null && this.#op === op && path.endsWith(this.#suffix)) await this.#gate;
    };
    const { read, write, writev, sync } = file;
    file.read = async (into, position) => {
      await waitFor('read');
      return read.call(file, into, position);
    };
    file.write = async (data, position) => {
      await waitFor('write');
      return write.call(file, data, position);
    };
    file.writev = async (buffers, position) => {
      await waitFor('write');
      return writev.call(file, buffers, position);
    };
    file.sync = async () => {
      await waitFor('sync');
      return sync.call(file);
    };
    return file;
  }
}
