// The subscriber list behind `Transport.onFrame` / `onPeer`, shared by MeshTransport and
// SimTransport. Copy-on-write, so a handler may unsubscribe (or subscribe another) while the
// list is being walked without disturbing that walk.

import { MeshError, MeshErrorReason } from './errors.js';

export class HandlerList<H extends (...args: never[]) => void> {
  #handlers: readonly H[] = [];

  /** The handlers at this instant; safe to iterate while handlers change the list. */
  get current(): readonly H[] {
    return this.#handlers;
  }

  /** Adds `handler`; returns the function that removes it. `method` names the API in errors. */
  add(handler: H, method: string): () => void {
    if (typeof handler !== 'function') {
      throw new MeshError(MeshErrorReason.Config, `${method}: handler must be a function`);
    }
    this.#handlers = [...this.#handlers, handler];
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }
}
