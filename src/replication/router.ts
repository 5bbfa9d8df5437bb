// Inbound routing (the seed's `ReplicationInboundRouter`): ChannelId → the runtime of that
// channel. The mesh calls `tryRouteFrame` (or `tryRoute` with a decoded message) from its receive
// path; it never blocks and never throws for a peer's input. A frame that cannot be delivered —
// malformed, for a channel this node does not run, or for a full inbox — comes back as a
// rejection carrying the reason (and the event), and the caller counts the drop. Reliable
// transport or the next heartbeat recovers what was lost.
//
// Handles are held through WeakRefs and forgotten once stopped, so the router never keeps a
// runtime's handle (and through it the mesh) alive on its own
// (docs/DESIGN.md#no-keepalive-cycle).

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { decodeAnyMessage, decodeHeartbeatBatch, isHeartbeatBatch } from '../wire/codec.js';
import { WireError } from '../wire/errors.js';
import { channelIdToHex } from '../wire/ids.js';
import type { AnyReplicationMessage, ChannelId, NodeId } from '../wire/types.js';
import type { ReplicationRuntimeHandle } from './handle.js';
import { type InboundMessage, inbound } from './inbox.js';

/** Channels one router serves. */
export const ROUTER_CHANNELS_MAX = 65_536;

export const RouteDrop = {
  /** The frame did not decode (the wire error is attached). */
  Malformed: 'malformed',
  /** No running runtime for the channel on this node. */
  UnknownChannel: 'unknown-channel',
  /** The runtime's lane for this event is full. */
  InboxFull: 'inbox-full',
} as const;
export type RouteDrop = (typeof RouteDrop)[keyof typeof RouteDrop];

export interface RouteRejection {
  readonly reason: RouteDrop;
  /** The event handed back (null when the frame did not decode). */
  readonly event: InboundMessage | null;
  readonly error?: WireError;
}

export interface RouterStats {
  routed: number;
  readonly drops: Record<RouteDrop, number>;
}

export class ReplicationRouter {
  // Key: channel id in hex. Invariant: size ≤ ROUTER_CHANNELS_MAX.
  readonly #entries = new Map<string, WeakRef<ReplicationRuntimeHandle>>();
  readonly stats: RouterStats = {
    routed: 0,
    drops: { malformed: 0, 'unknown-channel': 0, 'inbox-full': 0 },
  };

  /** Channels with a registered (possibly already collected) handle. */
  get size(): number {
    return this.#entries.size;
  }

  /** Routes the channel's frames to `handle`; a live other handle for it is an error. */
  register(handle: ReplicationRuntimeHandle): void {
    const key = channelIdToHex(handle.channelId);
    const current = this.#live(key);
    if (current !== undefined && current !== handle) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `router: channel ${key} already has a running replication runtime`,
      );
    }
    if (current === undefined && this.#entries.size >= ROUTER_CHANNELS_MAX) {
      this.#sweep();
      if (this.#entries.size >= ROUTER_CHANNELS_MAX) {
        throw new RedexError(
          RedexErrorCode.InvalidArgument,
          `router: more than ${ROUTER_CHANNELS_MAX} replicated channels`,
        );
      }
    }
    this.#entries.set(key, new WeakRef(handle));
  }

  /** Stops routing to `handle`; false when it was not the registered one. */
  unregister(handle: ReplicationRuntimeHandle): boolean {
    const key = channelIdToHex(handle.channelId);
    if (this.#entries.get(key)?.deref() !== handle) return false;
    this.#entries.delete(key);
    return true;
  }

  /** The running handle for `channelId`, if any. */
  handleFor(channelId: ChannelId): ReplicationRuntimeHandle | undefined {
    return this.#live(channelIdToHex(channelId));
  }

  /** Delivers a decoded message from `from`; null when queued, else the rejection. */
  tryRoute(from: NodeId, message: AnyReplicationMessage): RouteRejection | null {
    return this.tryRouteEvent(inbound(from, message));
  }

  tryRouteEvent(event: InboundMessage): RouteRejection | null {
    let handle: ReplicationRuntimeHandle | undefined;
    try {
      handle = this.#live(channelIdToHex(event.message.channelId));
    } catch {
      handle = undefined; // a channel id of the wrong shape matches nothing
    }
    if (handle === undefined) return this.#reject(RouteDrop.UnknownChannel, event);
    if (handle.tryDispatch(event) !== null) {
      return this.#reject(handle.isStopped ? RouteDrop.UnknownChannel : RouteDrop.InboxFull, event);
    }
    this.stats.routed++;
    return null;
  }

  /**
   * Decodes a RedEX frame from `from` (its id proven by the transport) and routes it. A heartbeat
   * batch is split: each heartbeat is routed as if it had come alone (each drop counted), and the
   * last rejection, if any, is returned.
   */
  tryRouteFrame(from: NodeId, frame: Uint8Array): RouteRejection | null {
    let messages: readonly AnyReplicationMessage[];
    try {
      messages = isHeartbeatBatch(frame) ? decodeHeartbeatBatch(frame) : [decodeAnyMessage(frame)];
    } catch (error) {
      this.stats.drops.malformed++;
      const wire = error instanceof WireError ? error : undefined;
      return wire === undefined
        ? { reason: RouteDrop.Malformed, event: null }
        : { reason: RouteDrop.Malformed, event: null, error: wire };
    }
    let last: RouteRejection | null = null;
    for (const message of messages) last = this.tryRoute(from, message) ?? last;
    return last;
  }

  /** Forgets every channel (the owner is shutting down). */
  clear(): void {
    this.#entries.clear();
  }

  #reject(reason: RouteDrop, event: InboundMessage): RouteRejection {
    this.stats.drops[reason]++;
    return { reason, event };
  }

  /** The live handle under `key`; a collected or stopped one is forgotten on the way. */
  #live(key: string): ReplicationRuntimeHandle | undefined {
    const ref = this.#entries.get(key);
    if (ref === undefined) return undefined;
    const handle = ref.deref();
    if (handle === undefined || handle.isStopped) {
      this.#entries.delete(key);
      return undefined;
    }
    return handle;
  }

  #sweep(): void {
    for (const key of [...this.#entries.keys()]) this.#live(key);
  }

  assertInvariants(): void {
    if (this.#entries.size > ROUTER_CHANNELS_MAX) throw new Error('router: too many channels');
  }
}
