// Bounds on inbound mesh connections that have not finished their TLS handshake. Anyone who can
// reach the mesh port can open TCP connections; before they present a certificate they are
// strangers. Without a bound per source, 4,100 idle connections from one host took every slot
// and a member was refused. A member's handshake takes milliseconds, so the connection that has
// waited longest is the one to close when a limit is reached:
//
// - past `perAddressMax` handshakes from one address, that address's oldest is closed;
// - past `totalMax` handshakes in all, the oldest from an address no member has connected from
//   is closed (a member's address is learned when a member's handshake succeeds from it); when
//   only member addresses are waiting, the oldest of them goes;
// - the TLS server's handshake timeout closes whatever never finishes.

import type { Socket } from 'node:net';

export interface HandshakeGateLimits {
  readonly totalMax: number;
  readonly perAddressMax: number;
}

/** Member addresses remembered; past it, the oldest is forgotten. */
export const MEMBER_ADDRESSES_MAX = 1024;

function keyOf(socket: Socket): string | null {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return null;
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

function addressOf(key: string): string {
  return key.slice(0, key.lastIndexOf('|'));
}

export class HandshakeGate {
  readonly #limits: HandshakeGateLimits;
  readonly #onEvict: () => void;
  /** Handshaking sockets by remote address and port, oldest first. */
  readonly #pending = new Map<string, Socket>();
  readonly #byAddress = new Map<string, Set<string>>();
  readonly #memberAddresses = new Set<string>();

  /** `onEvict` counts each handshake closed to make room. */
  constructor(limits: HandshakeGateLimits, onEvict: () => void) {
    this.#limits = limits;
    this.#onEvict = onEvict;
  }

  /** Inbound connections still in their TLS handshake. */
  get pending(): number {
    return this.#pending.size;
  }

  /** A new TCP connection on the mesh port (before TLS). */
  admit(socket: Socket): void {
    const key = keyOf(socket);
    if (key === null) return;
    socket.once('close', () => this.#release(key));
    const address = addressOf(key);
    const sameAddress = this.#byAddress.get(address);
    if (sameAddress !== undefined && sameAddress.size >= this.#limits.perAddressMax) {
      this.#evict(sameAddress.values().next().value!);
    }
    if (this.#pending.size >= this.#limits.totalMax) {
      this.#evict(this.#oldestStranger() ?? this.#pending.keys().next().value!);
    }
    this.#pending.set(key, socket);
    const keys = this.#byAddress.get(address) ?? new Set<string>();
    keys.add(key);
    this.#byAddress.set(address, keys);
  }

  /** The handshake on `socket` (the TLS socket) ended; it no longer holds a slot. */
  done(socket: Socket): void {
    const key = keyOf(socket);
    if (key !== null) this.#release(key);
  }

  /** A member connected from `socket`'s address: its address is preferred from now on. */
  memberAt(socket: Socket): void {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    this.#memberAddresses.delete(address);
    this.#memberAddresses.add(address);
    if (this.#memberAddresses.size > MEMBER_ADDRESSES_MAX) {
      this.#memberAddresses.delete(this.#memberAddresses.values().next().value!);
    }
  }

  /** Closes every connection still handshaking (the transport is closing). */
  destroyAll(): void {
    for (const socket of [...this.#pending.values()]) socket.destroy();
    this.#pending.clear();
    this.#byAddress.clear();
  }

  #oldestStranger(): string | null {
    for (const key of this.#pending.keys()) {
      if (!this.#memberAddresses.has(addressOf(key))) return key;
    }
    return null;
  }

  #evict(key: string): void {
    const socket = this.#pending.get(key);
    this.#release(key);
    if (socket === undefined) return;
    this.#onEvict();
    socket.destroy();
  }

  #release(key: string): void {
    if (!this.#pending.delete(key)) return;
    const address = addressOf(key);
    const sameAddress = this.#byAddress.get(address);
    sameAddress?.delete(key);
    if (sameAddress?.size === 0) this.#byAddress.delete(address);
  }
}
