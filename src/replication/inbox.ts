// The runtime's inbox (the seed's two tokio mpsc channels): a priority lane for the events that
// stop the task or make catch-up progress (Shutdown, SyncResponse, SyncNack) and a normal lane for
// what a peer flood is made of (Heartbeat, SyncRequest). The runtime drains the priority lane
// before its tick and the tick before the normal lane, so a heartbeat flood can neither starve a
// response nor delay a shutdown (docs/DESIGN.md#priority-lane).
//
// Owns: both bounded lanes, the callers of `push` waiting for room, and the wake-up of the loop.
// Called by: the handle (dispatch, tryDispatch, cancel), the router through the handle, the loop.

import { ClosedError, RedexError, RedexErrorCode } from '../log/errors.js';
import type { AnyReplicationMessage, NodeId } from '../wire/types.js';

/** Normal lane (Heartbeat, SyncRequest): a peer flood fills this one first. */
export const RUNTIME_INBOX_CAPACITY = 1024;
/** Priority lane (Shutdown, SyncResponse, SyncNack): bounded by the replica's in-flight requests. */
export const RUNTIME_PRIORITY_INBOX_CAPACITY = 128;
/** `push` callers waiting for room, per lane; one more is refused at once. */
export const DISPATCH_WAITERS_MAX = 1024;

/** A replication message from a peer; `from` comes from the transport (the peer's certificate). */
export interface InboundMessage {
  readonly kind: 'message';
  readonly from: NodeId;
  readonly message: AnyReplicationMessage;
}

/** Local only (never crosses the wire): stop the runtime after the graceful Idle transition. */
export interface InboundShutdown {
  readonly kind: 'shutdown';
}

export type Inbound = InboundMessage | InboundShutdown;

export const SHUTDOWN: InboundShutdown = Object.freeze({ kind: 'shutdown' });

export function inbound(from: NodeId, message: AnyReplicationMessage): InboundMessage {
  return { kind: 'message', from, message };
}

/** Shutdown, SyncResponse, SyncNack and the election messages ride the priority lane. */
export function isPriorityEvent(event: Inbound): boolean {
  if (event.kind === 'shutdown') return true;
  const kind = event.message.kind;
  return kind !== 'heartbeat' && kind !== 'request';
}

/** Slots a ring starts with; it doubles as it fills, up to its capacity. */
const RING_INITIAL_SLOTS = 4;

/**
 * A bounded FIFO ring. Its slots grow with use (doubling up to `capacity`): a node runs a runtime
 * per channel, each with four of these, and nearly all stay almost empty, so slots for the full
 * capacity up front would cost tens of KB per channel (hundreds of MB at 10,000 channels).
 */
class Ring<T> {
  readonly capacity: number;
  #slots: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#slots = new Array<T | undefined>(Math.min(capacity, RING_INITIAL_SLOTS));
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.capacity;
  }

  push(item: T): boolean {
    if (this.#size === this.capacity) return false;
    if (this.#size === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#size) % this.#slots.length] = item;
    this.#size++;
    return true;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#slots.length;
    this.#size--;
    return item;
  }

  /** Doubles the slots (at most to the capacity), the oldest item first. */
  #grow(): void {
    const slots = new Array<T | undefined>(Math.min(this.capacity, this.#slots.length * 2));
    for (let i = 0; i < this.#size; i++)
      slots[i] = this.#slots[(this.#head + i) % this.#slots.length];
    this.#slots = slots;
    this.#head = 0;
  }

  drain(): T[] {
    const items: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) items.push(item);
    return items;
  }
}

interface Waiter {
  readonly event: Inbound;
  resolve(): void;
  reject(error: unknown): void;
}

class Lane {
  readonly events: Ring<Inbound>;
  readonly waiters = new Ring<Waiter>(DISPATCH_WAITERS_MAX);

  constructor(capacity: number) {
    this.events = new Ring(capacity);
  }

  /** Moves the oldest waiter into a freed slot. */
  admitWaiter(): void {
    if (this.events.full) return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    this.events.push(waiter.event);
    waiter.resolve();
  }
}

export class RuntimeInbox {
  readonly #label: string;
  readonly #onPush: () => void;
  readonly #priority = new Lane(RUNTIME_PRIORITY_INBOX_CAPACITY);
  readonly #normal = new Lane(RUNTIME_INBOX_CAPACITY);
  // Invariant: once closed, both lanes and both waiter rings stay empty.
  #closed = false;

  /** `onPush` wakes the loop; it only sets state, so calling it from `push` is safe. */
  constructor(label: string, onPush: () => void) {
    this.#label = label;
    this.#onPush = onPush;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get priorityLength(): number {
    return this.#priority.events.size;
  }

  get normalLength(): number {
    return this.#normal.events.size;
  }

  #laneOf(event: Inbound): Lane {
    return isPriorityEvent(event) ? this.#priority : this.#normal;
  }

  /** Enqueues without waiting; false when the lane is full or the inbox closed. */
  tryPush(event: Inbound): boolean {
    if (this.#closed) return false;
    if (!this.#laneOf(event).events.push(event)) return false;
    this.#onPush();
    return true;
  }

  /** Enqueues, waiting for room when the lane is full; rejects CLOSED once the runtime ended. */
  push(event: Inbound): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const lane = this.#laneOf(event);
    if (lane.events.push(event)) {
      this.#onPush();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        event,
        resolve: () => {
          resolve();
          this.#onPush();
        },
        reject,
      };
      if (!lane.waiters.push(waiter)) {
        reject(
          new RedexError(
            RedexErrorCode.InvalidArgument,
            `replication inbox of ${this.#label}: more than ${DISPATCH_WAITERS_MAX} dispatch calls waiting for room`,
          ),
        );
      }
    });
  }

  popPriority(): Inbound | undefined {
    const event = this.#priority.events.shift();
    if (event !== undefined) this.#priority.admitWaiter();
    return event;
  }

  popNormal(): Inbound | undefined {
    const event = this.#normal.events.shift();
    if (event !== undefined) this.#normal.admitWaiter();
    return event;
  }

  /** Drops everything queued and rejects every waiting `push`; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const lane of [this.#priority, this.#normal]) {
      lane.events.drain();
      for (const waiter of lane.waiters.drain()) waiter.reject(this.#closedError());
    }
  }

  #closedError(): ClosedError {
    return new ClosedError(`the replication runtime of ${this.#label}`);
  }

  assertInvariants(): void {
    for (const lane of [this.#priority, this.#normal]) {
      if (lane.events.size > lane.events.capacity) throw new Error('inbox: lane over capacity');
      // A waiter only waits while its lane is full.
      if (lane.waiters.size > 0 && !lane.events.full) throw new Error('inbox: waiter with room');
      if (this.#closed && (lane.events.size > 0 || lane.waiters.size > 0)) {
        throw new Error('inbox: closed but not empty');
      }
    }
  }
}
