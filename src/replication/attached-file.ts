// What a channel's runtime sees of its open file (`RuntimeFile`), as one class rather than an
// object literal with getters: each such literal gets a hidden class of its own, so with thousands
// of channels every read of `nextSeq` in the runtime went through a megamorphic lookup.

import type { RedexFile } from '../log/redex-file.js';
import type { WireEventRun } from '../wire/types.js';
import type { RuntimeFile } from './runtime-options.js';

export class AttachedFile implements RuntimeFile {
  readonly #file: RedexFile;

  constructor(file: RedexFile) {
    this.#file = file;
  }

  get nextSeq(): number {
    return this.#file.nextSeq;
  }

  get firstSeq(): number | null {
    return this.#file.firstSeq;
  }

  get writingNextSeq(): number {
    return this.#file.writingNextSeq;
  }

  get shipNextSeq(): number {
    return this.#file.shipNextSeq;
  }

  get shipFirstSeq(): number | null {
    return this.#file.shipFirstSeq;
  }

  // The leader ships what it has, committed or not (and written, fsynced or not): commit follows
  // the durable copies.
  readRangeLimited(start: number, end: number, maxBytes: number, overhead: number) {
    return this.#file.readShippable(start, end, maxBytes, overhead);
  }

  appendBatchIfNextSeq(expected: number, payloads: readonly Uint8Array[]) {
    return this.#file.applyReplicated(expected, payloads);
  }

  appendRunIfNextSeq(expected: number, run: WireEventRun) {
    return this.#file.applyReplicatedRun(expected, run);
  }

  skipTo(seq: number): Promise<void> {
    return this.#file.skipTo(seq);
  }

  truncateFrom(seq: number): Promise<number> {
    return this.#file.truncateFrom(seq);
  }

  sweepRetention(): Promise<number> {
    return this.#file.sweepRetention();
  }
}
