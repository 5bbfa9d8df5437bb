// One mutual-TLS connection of the mesh (DEV DOCS).
//
// Owns: its TLSSocket, the inbound `FrameDecoder`, the outbound write batch, ping/pong and the
// idle watchdog, and per-connection counting into the peer's `PeerStats`. It does NOT decide
// which connection a peer uses, who the peer is, or when to redial: `MeshTransport` does, through
// the `ConnectionOwner` callbacks.
//
// Life cycle:
//   handshaking ─secureConnect/secureConnection─▶ confirming (dialed only) ─first frame─▶ open
//   open ─retire()─▶ retiring (no new sends; flush, TLS close_notify, keep reading) ─▶ closed
//   any ─destroy()/socket close─▶ closed
// A dialed connection waits in `confirming` for the acceptor's first frame because in TLS 1.3 the
// client finishes its handshake before the server has checked the client's certificate: only a
// frame from the server proves the server accepted us. The acceptor sends a ping at once for this.

import type { TLSSocket } from 'node:tls';
import type { Clock, TimerHandle } from '../time/clock.js';
import { releaseFrameBuffer } from '../wire/headroom.js';
import type { NodeId } from '../wire/types.js';
import { classifyFrame, encodeControl, MeshControl } from './control.js';
import { MeshError, MeshErrorReason } from './errors.js';
import {
  canFrameInPlace,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  framedInPlace,
  packFrames,
} from './framing.js';
import { DropReason, type PeerStats, type TransportStats } from './types.js';

export type ConnectionDirection = 'dialed' | 'accepted';
export type ConnectionState = 'handshaking' | 'confirming' | 'open' | 'retiring' | 'closed';

export interface ConnectionLimits {
  readonly frameBodyBytesLimit: number;
  readonly pendingWriteBytesLimit: number;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export interface ConnectionOwner {
  readonly clock: Clock;
  readonly stats: TransportStats;
  /** The connection is usable: identified and, if dialed, confirmed by the acceptor. */
  connectionOpen(connection: Connection): void;
  /** An inbound RedEX frame. */
  connectionFrame(connection: Connection, body: Uint8Array): void;
  /** A ping round trip completed. */
  connectionRtt(connection: Connection, rttMs: number): void;
  /** The socket is gone; called exactly once. */
  connectionClosed(connection: Connection): void;
}

const NS_PER_MS = 1_000_000;

export class Connection {
  readonly id: number;
  readonly direction: ConnectionDirection;
  readonly socket: TLSSocket;
  /** Set by `identify`; null until the TLS handshake named the peer. */
  peerId: NodeId | null = null;
  /** The dial target this connection was made for (dialed connections only). */
  target: unknown = null;
  /** Why it closed or is closing (for logs and tests). */
  closeReason: string | null = null;
  #state: ConnectionState = 'handshaking';
  #wasOpen = false;
  readonly #owner: ConnectionOwner;
  readonly #limits: ConnectionLimits;
  readonly #decoder: FrameDecoder;
  #peerStats: PeerStats | null = null;
  // Outbound batch: bodies waiting for the next flush, and their framed size.
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  // Socket writes whose callback has not come yet; a large body framed in place waits for 0 (see
  // #flush). `retire` ends the socket once the queue is handed over.
  #writesInFlight = 0;
  #endWhenFlushed = false;
  // At most one ping outstanding; a token that matches no ping is an unexpected pong.
  #pingToken: bigint | null = null;
  #pingSentNs = 0n;
  #nextPingToken = 1n;
  #lastReceivedMs: number;
  #ticker: TimerHandle | null = null;
  #deadline: TimerHandle | null = null;

  constructor(
    owner: ConnectionOwner,
    socket: TLSSocket,
    direction: ConnectionDirection,
    id: number,
    limits: ConnectionLimits,
  ) {
    this.#owner = owner;
    this.socket = socket;
    this.direction = direction;
    this.id = id;
    this.#limits = limits;
    this.#decoder = new FrameDecoder(limits.frameBodyBytesLimit);
    this.#lastReceivedMs = owner.clock.nowMs();
    socket.setNoDelay(true); // we batch ourselves; Nagle would only add latency
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // Errors are followed by 'close', where the connection is accounted for; a listener must
    // exist so a reset from a hostile peer never becomes an uncaught exception.
    socket.on('error', (error: Error) => {
      this.closeReason ??= (error as NodeJS.ErrnoException).code ?? error.message;
    });
    socket.on('close', () => this.#onClose());
    if (direction === 'dialed') {
      this.#deadline = owner.clock.setTimer(limits.handshakeTimeoutMs, () => {
        if (this.#state === 'handshaking' || this.#state === 'confirming') {
          owner.stats.handshakeTimeouts++;
          this.destroy(
            'handshake-timeout',
            new MeshError(MeshErrorReason.HandshakeTimeout, 'TLS handshake timed out'),
          );
        }
      });
    }
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** True once the connection reached `open` (even if it is closed now). */
  get wasOpen(): boolean {
    return this.#wasOpen;
  }

  /** Bytes accepted for sending but not yet handed to the kernel. */
  get pendingWriteBytes(): number {
    return this.#queuedBytes + this.socket.writableLength;
  }

  /** Records the peer the handshake proved; a dialed connection then awaits confirmation. */
  identify(peerId: NodeId, peerStats: PeerStats): void {
    this.peerId = peerId;
    this.#peerStats = peerStats;
    if (this.direction === 'dialed' && this.#state === 'handshaking') this.#state = 'confirming';
  }

  /** Acceptor side: usable at once. Sends the ping that confirms the handshake to the dialer. */
  openAccepted(): void {
    this.#open();
  }

  /** Queues a body. False (not queued) when not open or the pending bytes would pass the limit. */
  enqueue(body: Uint8Array): boolean {
    if (this.#state !== 'open') return false;
    const framed = FRAME_HEADER_BYTES + body.length;
    if (this.pendingWriteBytes + framed > this.#limits.pendingWriteBytesLimit) return false;
    this.#queue.push(body);
    this.#queuedBytes += framed;
    this.#owner.stats.framesOut++;
    this.#owner.stats.bytesOut += framed;
    const peer = this.#peerStats!;
    peer.framesOut++;
    peer.bytesOut += framed;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // One flush per turn of the event loop: everything sent in this turn shares a socket write.
      setImmediate(() => this.#flush());
    }
    return true;
  }

  /** Graceful close: no new frames, queued ones are flushed, then close_notify; reads continue. */
  retire(reason: string): void {
    if (this.#state === 'closed' || this.#state === 'retiring') return;
    if (this.#state !== 'open') {
      this.destroy(reason);
      return;
    }
    this.#state = 'retiring';
    this.closeReason ??= reason;
    this.#stopTicker();
    this.#endWhenFlushed = true;
    this.#flush();
    this.#deadline?.cancel();
    this.#deadline = this.#owner.clock.setTimer(this.#limits.closeTimeoutMs, () =>
      this.destroy(`${reason} (close timeout)`),
    );
  }

  /** Immediate close; `error` is what the socket is destroyed with. */
  destroy(reason: string, error?: Error): void {
    if (this.#state === 'closed') return;
    this.closeReason ??= reason;
    this.socket.destroy(error);
  }

  #open(): void {
    if (this.#state === 'closed' || this.#state === 'retiring') return;
    this.#state = 'open';
    this.#wasOpen = true;
    this.#deadline?.cancel();
    this.#deadline = null;
    this.#lastReceivedMs = this.#owner.clock.nowMs();
    // Ping before the owner decides: even a connection that loses to another one of the same pair
    // must confirm the handshake, so the dialer sees a clean retirement rather than a failure.
    this.#sendPing();
    this.#ticker = this.#owner.clock.setTimer(this.#limits.pingIntervalMs, () => this.#tick());
    this.#owner.connectionOpen(this);
  }

  #tick(): void {
    this.#ticker = null;
    if (this.#state !== 'open') return;
    const now = this.#owner.clock.nowMs();
    if (now - this.#lastReceivedMs >= this.#limits.idleTimeoutMs) {
      this.#owner.stats.idleTimeouts++;
      this.destroy(
        'idle-timeout',
        new MeshError(MeshErrorReason.IdleTimeout, `no bytes for ${now - this.#lastReceivedMs} ms`),
      );
      return;
    }
    // A ping still outstanding means the peer is slow, not that it was lost (TCP): wait for it.
    if (this.#pingToken === null) this.#sendPing();
    this.#ticker = this.#owner.clock.setTimer(this.#limits.pingIntervalMs, () => this.#tick());
  }

  #sendPing(): void {
    const token = this.#nextPingToken++;
    if (!this.#enqueueControl(MeshControl.Ping, token)) return;
    this.#pingToken = token;
    this.#pingSentNs = this.#owner.clock.nowNs();
    this.#peerStats!.pingsOut++;
  }

  #enqueueControl(type: MeshControl, token: bigint): boolean {
    const sent = this.enqueue(encodeControl(type, token));
    if (!sent && this.#state === 'open') this.#countDrop(DropReason.Backpressure);
    return sent;
  }

  #stopTicker(): void {
    this.#ticker?.cancel();
    this.#ticker = null;
  }

  /**
   * Hands queued frames to the socket. Small frames go at once, corked into one write (a
   * heartbeat or a response must not wait a turn). A large body with headroom for its prefix
   * (framing.ts `canFrameInPlace`) goes alone, as one buffer, and only when no write of ours is
   * pending: a socket with writes pending passes the next ones to TLS as one vector, which TLS
   * copies into a fresh buffer — megabytes for a catch-up chunk — instead of encrypting in place.
   * Its buffer is released for reuse once its write's callback came.
   */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.socket.destroyed) return;
    const queue = this.#queue;
    let taken = 0;
    while (taken < queue.length) {
      const head = queue[taken]!;
      if (canFrameInPlace(head)) {
        if (this.#writesInFlight > 0) break; // #afterLargeWrite flushes again
        taken++;
        this.#queuedBytes -= FRAME_HEADER_BYTES + head.length;
        this.#owner.stats.writeBatches++;
        this.#writesInFlight++;
        this.socket.write(framedInPlace(head), (error?: Error | null) =>
          this.#afterLargeWrite(head, error),
        );
        continue;
      }
      let end = taken + 1;
      while (end < queue.length && !canFrameInPlace(queue[end]!)) end++;
      const batch = queue.slice(taken, end);
      taken = end;
      for (const body of batch) this.#queuedBytes -= FRAME_HEADER_BYTES + body.length;
      const segments = packFrames(batch);
      this.#owner.stats.writeBatches++;
      this.#writesInFlight++;
      const last = segments.length - 1;
      if (last > 0) this.socket.cork();
      for (let i = 0; i < last; i++) this.socket.write(segments[i]!);
      this.socket.write(segments[last]!, this.#afterSmallWrite);
      if (last > 0) this.socket.uncork();
    }
    this.#queue = taken === queue.length ? [] : queue.slice(taken);
    if (this.#queue.length === 0 && this.#endWhenFlushed) {
      this.#endWhenFlushed = false;
      this.socket.end();
    }
  }

  readonly #afterSmallWrite = (error?: Error | null): void => {
    this.#writesInFlight--;
    // A failed write destroys the socket; 'close' accounts for what is still queued.
    if (error == null && this.#writesInFlight === 0 && this.#queue.length > 0) this.#flush();
  };

  #afterLargeWrite(body: Uint8Array, error?: Error | null): void {
    this.#writesInFlight--;
    if (error != null) return;
    // Written: the socket is done with the buffer, so the next response may be encoded into it.
    releaseFrameBuffer(body);
    if (this.#writesInFlight === 0 && this.#queue.length > 0) this.#flush();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    this.#owner.stats.bytesIn += chunk.length;
    if (this.#peerStats !== null) this.#peerStats.bytesIn += chunk.length;
    this.#lastReceivedMs = this.#owner.clock.nowMs();
    const decoder = this.#decoder;
    decoder.push(chunk);
    for (;;) {
      const body = decoder.next();
      if (body === null) break;
      this.#onFrame(body);
      if (this.socket.destroyed) return; // a handler or the owner closed it
    }
    const failure = decoder.failure;
    if (failure !== null) {
      this.#countDrop(DropReason.FrameTooLarge);
      this.destroy(
        DropReason.FrameTooLarge,
        new MeshError(
          MeshErrorReason.FrameTooLarge,
          `peer announced a ${failure.length}-byte frame; the limit is ${failure.limit}`,
        ),
      );
    }
  }

  #onFrame(body: Uint8Array): void {
    this.#owner.stats.framesIn++;
    this.#peerStats!.framesIn++;
    if (this.#state === 'confirming') this.#open();
    if (this.socket.destroyed) return;
    const kind = classifyFrame(body);
    switch (kind.kind) {
      case 'replication':
        this.#owner.connectionFrame(this, body);
        return;
      case 'ping':
        this.#enqueueControl(MeshControl.Pong, kind.token);
        return;
      case 'pong': {
        if (kind.token !== this.#pingToken) {
          this.#countDrop(DropReason.UnexpectedPong);
          return;
        }
        this.#pingToken = null;
        this.#peerStats!.pongsIn++;
        const rttNs = this.#owner.clock.nowNs() - this.#pingSentNs;
        this.#owner.connectionRtt(this, Number(rttNs) / NS_PER_MS);
        return;
      }
      case 'drop':
        this.#countDrop(kind.reason);
        return;
    }
  }

  #countDrop(reason: DropReason, count = 1): void {
    this.#owner.stats.drops[reason] += count;
    if (this.#peerStats !== null) this.#peerStats.drops[reason] += count;
  }

  #onClose(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stopTicker();
    this.#deadline?.cancel();
    this.#deadline = null;
    if (this.#decoder.failure === null && this.#decoder.midFrame) {
      this.#countDrop(DropReason.TruncatedFrame);
    }
    if (this.#queue.length > 0) {
      this.#countDrop(DropReason.ConnectionLost, this.#queue.length);
      this.#queue = [];
      this.#queuedBytes = 0;
    }
    this.closeReason ??= 'closed by peer';
    this.#owner.connectionClosed(this);
  }
}
