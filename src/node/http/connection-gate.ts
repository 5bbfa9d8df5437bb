// Bounds on connections that have not sent a whole request yet. Such a connection costs a file
// descriptor and memory and proves nothing about its sender: a few hundred half-sent requests
// (slowloris) used to hold every descriptor a node had, and health checks and authenticated
// clients were refused. Legitimate clients send their request head at once, so a connection
// still waiting for one is the first to go when a limit is reached:
//
// - past `perAddressMax` waiting connections from one address, that address's oldest waiting one
//   is closed; past `totalMax` waiting connections in all, the oldest waiting one is closed;
// - Node's own `headersTimeout` (set by the server) closes any that never finish.
//
// Connections serving a request, kept-alive ones between requests (closed by Node's
// `keepAliveTimeout`) and streams are not counted here.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGateLimits {
  readonly totalMax: number;
  readonly perAddressMax: number;
}

export interface ConnectionGateStats {
  /** Connections waiting for their first request head now. */
  readonly waiting: number;
  /** Waiting connections closed to make room, since start. */
  readonly evicted: number;
}

function keyOf(socket: Socket): string | null {
  if (socket.remoteAddress === undefined || socket.remotePort === undefined) return null;
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

export class ConnectionGate {
  readonly #limits: ConnectionGateLimits;
  /** Waiting connections by remote address and port, oldest first (insertion order). */
  readonly #waiting = new Map<string, Socket>();
  readonly #byAddress = new Map<string, Set<string>>();
  /** Sockets that already release their entry on close (one listener each, however many requests). */
  readonly #watched = new WeakSet<Socket>();
  /** Requests being answered per socket. */
  readonly #active = new WeakMap<Socket, number>();
  #evicted = 0;

  constructor(server: Server, limits: ConnectionGateLimits) {
    this.#limits = limits;
    // 'connection' is the TCP socket (also under TLS); the request's socket may be the TLS one,
    // so both are matched by remote address and port, which are unique among live connections.
    server.on('connection', (socket: Socket) => this.#wait(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      this.#release(keyOf(socket));
      this.#active.set(socket, (this.#active.get(socket) ?? 0) + 1);
      // A kept-alive connection waits for its next request head like a new one, once no request
      // on it is being answered (a pipelined one may already have started).
      res.once('finish', () => {
        const active = (this.#active.get(socket) ?? 1) - 1;
        this.#active.set(socket, active);
        if (active === 0 && !socket.destroyed) this.#wait(socket);
      });
    });
  }

  stats(): ConnectionGateStats {
    return { waiting: this.#waiting.size, evicted: this.#evicted };
  }

  #wait(socket: Socket): void {
    const key = keyOf(socket);
    if (key === null) return; // already gone
    if (!this.#watched.has(socket)) {
      this.#watched.add(socket);
      socket.once('close', () => this.#release(key));
    }
    const address = addressOf(key);
    const sameAddress = this.#byAddress.get(address);
    if (sameAddress !== undefined && sameAddress.size >= this.#limits.perAddressMax) {
      this.#evict(sameAddress.values().next().value!);
    }
    if (this.#waiting.size >= this.#limits.totalMax) {
      this.#evict(this.#waiting.keys().next().value!);
    }
    this.#waiting.set(key, socket);
    const keys = this.#byAddress.get(address) ?? new Set<string>();
    keys.add(key);
    this.#byAddress.set(address, keys);
  }

  #evict(key: string): void {
    const socket = this.#waiting.get(key);
    this.#release(key);
    if (socket === undefined) return;
    this.#evicted++;
    socket.destroy();
  }

  #release(key: string | null): void {
    if (key === null || !this.#waiting.delete(key)) return;
    const address = addressOf(key);
    const sameAddress = this.#byAddress.get(address);
    sameAddress?.delete(key);
    if (sameAddress?.size === 0) this.#byAddress.delete(address);
  }
}

function addressOf(key: string): string {
  return key.slice(0, key.lastIndexOf('|'));
}
