// One Server-Sent-Events response: framing (`id:`, `event:`, `data:` lines), a heartbeat comment
// every `heartbeatMs` so idle proxies keep the stream open, write backpressure (a slow client
// makes `send` wait for 'drain' instead of buffering without bound; a write that cannot drain
// within the write timeout ends the stream, so a client that stopped reading holds nothing for
// long), and a clean end when the client goes away (`signal` aborts, the heartbeat stops).

import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../time/clock.js';
import { SSE_WRITE_TIMEOUT_MS_DEFAULT } from './limits.js';

export interface SseOptions {
  readonly clock: Clock;
  readonly heartbeatMs: number;
}

/** How the server watches a stream it registered: the write timeout and who hears of a stall. */
export interface SseStallWatch {
  readonly writeTimeoutMs: number;
  /** Called once when a write could not drain in time (the stream is then cut). */
  readonly onStall: (stream: SseStream) => void;
}

export class SseStream {
  readonly #res: ServerResponse;
  readonly #clock: Clock;
  readonly #heartbeatMs: number;
  readonly #abort = new AbortController();
  #heartbeat: TimerHandle | null = null;
  #blocked = false;
  #ended = false;
  #stall: SseStallWatch = { writeTimeoutMs: SSE_WRITE_TIMEOUT_MS_DEFAULT, onStall: () => {} };

  constructor(res: ServerResponse, options: SseOptions) {
    this.#res = res;
    this.#clock = options.clock;
    this.#heartbeatMs = options.heartbeatMs;
    res.on('close', () => this.#finish());
    // The client may have gone while the handler awaited something (opening the tail).
    if (res.destroyed) this.#finish();
  }

  get response(): ServerResponse {
    return this.#res;
  }

  /** Aborts when the client disconnects or the stream ends. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closed(): boolean {
    return this.#ended;
  }

  /** Set by the server when it registers the stream, before anything is sent. */
  watchStalls(watch: SseStallWatch): void {
    this.#stall = watch;
  }

  /** Sends the 200 header and a first comment, so the client sees the stream open at once. */
  start(comment: string): void {
    if (this.#ended) return;
    this.#res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and similar proxies buffer responses unless told not to.
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    this.#write(`: ${oneLine(comment)}\n\n`);
    this.#armHeartbeat();
  }

  /** Writes one event; resolves false when the stream is gone. Waits while the socket is full. */
  async send(data: unknown, options: { event?: string; id?: number } = {}): Promise<boolean> {
    if (this.#ended) return false;
    let frame = '';
    if (options.id !== undefined) frame += `id: ${options.id}\n`;
    if (options.event !== undefined) frame += `event: ${oneLine(options.event)}\n`;
    frame += `data: ${JSON.stringify(data)}\n\n`;
    if (this.#write(frame)) return true;
    this.#blocked = true;
    await new Promise<void>((resolve) => {
      const done = () => {
        timer.cancel();
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      const timer = this.#clock.setTimer(this.#stall.writeTimeoutMs, () => {
        done();
        if (this.#ended) return;
        this.#stall.onStall(this);
        // The client has not read for the whole timeout: cut it rather than hold its backlog.
        this.#res.destroy();
        this.#finish();
      });
      this.#res.on('drain', done);
      this.#res.on('close', done);
    });
    this.#blocked = false;
    return !this.#ended;
  }

  /** Ends the response (the client sees the stream close); idempotent. */
  end(): void {
    if (!this.#ended) this.#res.end();
    this.#finish();
  }

  #write(text: string): boolean {
    if (this.#ended) return false;
    return this.#res.write(text);
  }

  #armHeartbeat(): void {
    this.#heartbeat = this.#clock.setTimer(this.#heartbeatMs, () => {
      // While blocked the client is not reading; another line would only add to the backlog.
      if (!this.#blocked) this.#write(': keep-alive\n\n');
      if (!this.#ended) this.#armHeartbeat();
    });
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#heartbeat?.cancel();
    this.#heartbeat = null;
    this.#abort.abort();
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
