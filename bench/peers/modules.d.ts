// Minimal types for the peer packages the benchmarks drive (none ships its own). Only what the
// benchmarks call is declared.

declare module 'hypercore' {
  import type { Duplex } from 'node:stream';

  export interface HypercoreOptions {
    readonly inflightRange?: readonly [number, number];
    readonly [option: string]: unknown;
  }

  export interface Download {
    done(): Promise<void>;
  }

  export default class Hypercore {
    /** Hypercore 11: a directory path; hypercore 10: a random-access-storage factory too. */
    constructor(storage: unknown, key?: Uint8Array | null, options?: HypercoreOptions);
    readonly key: Uint8Array;
    readonly length: number;
    ready(): Promise<void>;
    append(block: Uint8Array | readonly Uint8Array[]): Promise<{ length: number }>;
    get(index: number): Promise<Uint8Array>;
    update(options?: { wait?: boolean }): Promise<boolean>;
    download(range?: { start?: number; end?: number }): Download;
    replicate(isInitiator: boolean, options?: Record<string, unknown>): Duplex;
    close(): Promise<void>;
  }
}

declare module 'hypercore-10' {
  export { default } from 'hypercore';
}

declare module 'random-access-memory' {
  const RAM: (...args: unknown[]) => unknown;
  export default RAM;
}
