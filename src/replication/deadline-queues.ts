// The deadlines of pending waits, for one shared timeout timer (src/replication/commit-waiters.ts).
// The waits of one timeout length are kept in the order they began, which is their deadline
// order (the clock never goes back): the due ones are at the fronts, and the next deadline is the
// earliest front. So a timer firing costs one step per timeout length plus one per wait it ends,
// never a scan of every pending wait. Settled waits leave a front at once, and the middle when
// they outnumber the pending ones there: memory follows the pending waits, not the settled ones.

export interface Timed {
  readonly timeoutMs: number;
  /** `timeoutMs` after the wait began, on the clock. */
  readonly deadlineMs: number;
  /** Set by the owner once the wait ended (settled, timed out or aborted). */
  readonly done: boolean;
}

/** Settled waits kept in a queue's middle at most this many more than twice its pending ones. */
const SETTLED_SLACK = 32;

interface Fifo<T> {
  items: T[];
  head: number;
  /** Waits in `items[head…]` that have not been reported settled. */
  pending: number;
}

export class DeadlineQueues<T extends Timed> {
  readonly #byTimeout = new Map<number, Fifo<T>>();
  #pending = 0;

  /** Waits added and not yet reported settled. */
  get pending(): number {
    return this.#pending;
  }

  /** Waits held (pending, or settled and not yet dropped from a middle): tests. */
  get held(): number {
    let held = 0;
    for (const fifo of this.#byTimeout.values()) held += fifo.items.length - fifo.head;
    return held;
  }

  add(wait: T): void {
    let fifo = this.#byTimeout.get(wait.timeoutMs);
    if (fifo === undefined) {
      fifo = { items: [], head: 0, pending: 0 };
      this.#byTimeout.set(wait.timeoutMs, fifo);
    }
    fifo.items.push(wait);
    fifo.pending++;
    this.#pending++;
  }

  /** `wait` (added before, `done` now) ended: it is dropped here. */
  settled(wait: T): void {
    const fifo = this.#byTimeout.get(wait.timeoutMs);
    if (fifo === undefined) return;
    fifo.pending--;
    this.#pending--;
    this.#trim(wait.timeoutMs, fifo);
  }

  /**
   * The waits not yet done whose deadline is `now` or earlier, taken off the fronts; the owner
   * ends each (and reports it `settled`) before it adds or takes again.
   */
  takeDue(now: number): T[] {
    const due: T[] = [];
    for (const fifo of this.#byTimeout.values()) {
      const items = fifo.items;
      while (fifo.head < items.length) {
        const front = items[fifo.head]!;
        if (!front.done && front.deadlineMs > now) break;
        if (!front.done) due.push(front);
        fifo.head++;
      }
    }
    return due;
  }

  /** The earliest deadline of a wait not yet done at a front (Infinity when there is none). */
  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const fifo of this.#byTimeout.values()) {
      for (let at = fifo.head; at < fifo.items.length; at++) {
        const wait = fifo.items[at]!;
        if (wait.done) continue;
        if (wait.deadlineMs < next) next = wait.deadlineMs;
        break;
      }
    }
    return next;
  }

  #trim(timeoutMs: number, fifo: Fifo<T>): void {
    const items = fifo.items;
    while (fifo.head < items.length && items[fifo.head]!.done) fifo.head++;
    if (fifo.pending === 0 && fifo.head === items.length) {
      this.#byTimeout.delete(timeoutMs);
      return;
    }
    const kept = items.length - fifo.head;
    if (kept > 2 * fifo.pending + SETTLED_SLACK || fifo.head > kept) {
      fifo.items = items.slice(fifo.head).filter((wait) => !wait.done);
      fifo.head = 0;
    }
  }
}
