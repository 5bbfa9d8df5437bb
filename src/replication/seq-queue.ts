// Items kept in seq order, settled from the front. Acknowledgement waiters are satisfied in seq
// order (whatever holds seq s holds every seq below it), so settling costs what it settles, not a
// scan of every pending item: a leader that falls behind under load must not pay more per update
// the further behind it is. Items leave early (timeout, abort) by being marked: the queue skips
// them when they reach the front and compacts once they are half of it.

export interface Queued {
  readonly seq: number;
  /** Set once the item left the queue's users; the queue drops it when it meets it. */
  done: boolean;
}

export class SeqQueue<T extends Queued> {
  #items: T[] = [];
  /** Index of the first item not yet dropped. */
  #head = 0;
  /** Items still pending (not done). */
  #live = 0;

  get size(): number {
    return this.#live;
  }

  /** Adds `item` in seq order (after the items of the same seq); O(1) when seqs arrive in order. */
  push(item: T): void {
    const items = this.#items;
    let at = items.length;
    if (at > this.#head && items[at - 1]!.seq > item.seq) {
      let low = this.#head;
      let high = at;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (items[mid]!.seq <= item.seq) low = mid + 1;
        else high = mid;
      }
      at = low;
      items.splice(at, 0, item);
    } else {
      items.push(item);
    }
    this.#live++;
  }

  /** Call after marking a pending item `done` from outside (timeout, abort). */
  forgetOne(): void {
    this.#live--;
    if (this.#live === 0) this.#reset();
    else if (
      this.#items.length - this.#head > 64 &&
      this.#live * 2 < this.#items.length - this.#head
    ) {
      this.#items = this.#items.slice(this.#head).filter((item) => !item.done);
      this.#head = 0;
    }
  }

  /**
   * Takes pending items from the front while `ready(item)` holds; each is marked done and handed
   * to `take`. Stops at the first pending item that is not ready.
   */
  settleFront(ready: (item: T) => boolean, take: (item: T) => void): void {
    const items = this.#items;
    while (this.#head < items.length) {
      const item = items[this.#head]!;
      if (!item.done) {
        if (!ready(item)) break;
        item.done = true;
        this.#live--;
        take(item);
      }
      this.#head++;
    }
    if (this.#live === 0) this.#reset();
  }

  /** The first pending item (the lowest seq), or undefined; drops the done items before it. */
  peek(): T | undefined {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head]!.done) this.#head++;
    return items[this.#head];
  }

  /** Every pending item, in seq order (a copy: `take`-style callbacks may change the queue). */
  pending(): T[] {
    const out: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (!item.done) out.push(item);
    }
    return out;
  }

  #reset(): void {
    this.#items = [];
    this.#head = 0;
  }
}
