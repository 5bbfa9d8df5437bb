// Small shared helpers for the replication tests.
import {
  type ChainTagSink,
  type ChannelId,
  type NodeId,
  type ReplicationConfig,
  resolveReplicationConfig,
} from './imports.js';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise callback run (no timers, no wall clock). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export type SinkCall =
  | { readonly op: 'announce'; readonly originHash: bigint; readonly tailSeq: number }
  | { readonly op: 'withdraw'; readonly originHash: bigint };

/** Records every call; `failNext` makes the next call throw; `gate` holds calls until released. */
export class RecorderSink implements ChainTagSink {
  readonly calls: SinkCall[] = [];
  readonly log: string[] = [];
  failNext: Error | null = null;
  gate: Promise<void> | null = null;

  async announce(originHash: bigint, tailSeq: number): Promise<void> {
    this.log.push('announce:start');
    await this.gate;
    this.log.push('announce:end');
    this.#maybeFail();
    this.calls.push({ op: 'announce', originHash, tailSeq });
  }

  async withdraw(originHash: bigint): Promise<void> {
    this.log.push('withdraw:start');
    await this.gate;
    this.log.push('withdraw:end');
    this.#maybeFail();
    this.calls.push({ op: 'withdraw', originHash });
  }

  #maybeFail(): void {
    const failure = this.failNext;
    if (failure !== null) {
      this.failNext = null;
      throw failure;
    }
  }
}

export const config: ReplicationConfig = resolveReplicationConfig();

export function channelId(fill: number): ChannelId {
  return new Uint8Array(32).fill(fill);
}

export function ids(...values: number[]): NodeId[] {
  return values.map((v) => BigInt(v));
}
