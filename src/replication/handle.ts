// The handle of a running replication runtime (the seed's `ReplicationRuntimeHandle`): what the
// router pushes inbound frames through and what the channel's owner cancels.
//
// JavaScript has no Drop, so the seed's "dropping the handle aborts the task" is kept two ways:
// `dispose()` (also `Symbol.dispose`) aborts at once, like the seed's Drop; and a handle that is
// garbage-collected without either `cancel()` or `dispose()` is aborted by a FinalizationRegistry.
// For the second to work nothing the task keeps alive may reference the handle: the runtime never
// does, and the router holds handles through WeakRefs. Without this, the task's own timer would
// keep the cycle mesh → router → handle → task → dispatcher (= mesh) alive forever
// (docs/DESIGN.md#no-keepalive-cycle).

import type { ChangeListener, ChannelSnapshot } from './channel-snapshot.js';
import type { Inbound } from './inbox.js';
import { ReplicationRuntime, type RuntimeOptions } from './runtime.js';
import type { RuntimeStats } from './runtime-stats.js';

// Held value: the runtime (never the handle, or the handle could not be collected).
const abandoned = new FinalizationRegistry<ReplicationRuntime>((runtime) => runtime.abort());

export class ReplicationRuntimeHandle {
  readonly #runtime: ReplicationRuntime;
  #cancelling: Promise<void> | null = null;

  constructor(runtime: ReplicationRuntime) {
    this.#runtime = runtime;
    abandoned.register(this, runtime, this);
  }

  /** The runtime itself: its tracker, counters, coordinator (observability and tests). */
  get runtime(): ReplicationRuntime {
    return this.#runtime;
  }

  get coordinator() {
    return this.#runtime.coordinator;
  }

  get channelId(): Uint8Array {
    return this.#runtime.channelId;
  }

  get stats(): Readonly<RuntimeStats> {
    return this.#runtime.stats;
  }

  /** The channel's replication state now: role, leader, tails, what each replica confirmed. */
  snapshot(): ChannelSnapshot {
    return this.#runtime.snapshot();
  }

  /** Calls `listener` when the role, the leader, the local tail or a confirmed tail changed. */
  onChange(listener: ChangeListener): () => void {
    return this.#runtime.onChange(listener);
  }

  /**
   * True only once the task has really ended, whoever stopped it
   * (docs/DESIGN.md#stopped-means-ended).
   */
  get isStopped(): boolean {
    return this.#runtime.ended;
  }

  /** Queues an event, waiting for room in its lane; rejects CLOSED once the runtime ended. */
  dispatch(event: Inbound): Promise<void> {
    return this.#runtime.inbox.push(event);
  }

  /** Queues an event without waiting; returns it back when its lane is full or the runtime ended. */
  tryDispatch(event: Inbound): Inbound | null {
    // A heartbeat that only says "still here" may be taken at once, without a step.
    if (event.kind === 'message' && this.#runtime.quietInbound(event)) return null;
    return this.#runtime.inbox.tryPush(event) ? null : event;
  }

  /**
   * Stops the runtime after its graceful Idle transition; idempotent, every call shares one
   * promise that settles only after the task ended. Never blocked by a full inbox, never hangs
   * (see `ReplicationRuntime.shutdown`).
   */
  cancel(): Promise<void> {
    if (this.#cancelling === null) {
      abandoned.unregister(this);
      this.#cancelling = this.#runtime.shutdown();
    }
    return this.#cancelling;
  }

  /** Aborts the task now, skipping the graceful Idle transition (the seed's Drop). */
  dispose(): void {
    abandoned.unregister(this);
    this.#runtime.abort();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.cancel();
  }
}

/** Builds a runtime, starts its loop and returns its handle (the seed's `spawn_replication_runtime`). */
export function spawnReplicationRuntime(options: RuntimeOptions): ReplicationRuntimeHandle {
  const runtime = new ReplicationRuntime(options);
  runtime.start();
  return new ReplicationRuntimeHandle(runtime);
}
