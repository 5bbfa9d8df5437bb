// A growable deque of fixed-width per-event columns (typed arrays), indexed by slot. Both the
// in-memory store and the persistent index keep one row per event here instead of one object per
// event. Rows are appended at the tail and dropped from the head; when the head has moved past
// half the capacity the live rows slide down instead of the arrays growing.

export type Column = Uint32Array | Float64Array | BigInt64Array;
export type Columns = Record<string, Column>;

/** Small: a node may hold thousands of mostly idle channels, each with a deque or two. */
const INITIAL_CAPACITY = 16;

export class ColumnDeque<C extends Columns> {
  readonly #make: (capacity: number) => C;
  #columns: C;
  #capacity: number;
  #head = 0;
  #tail = 0;

  constructor(make: (capacity: number) => C) {
    this.#make = make;
    this.#columns = make(INITIAL_CAPACITY);
    this.#capacity = INITIAL_CAPACITY;
  }

  /** The column arrays; re-read after `pushSlot`, which may replace them. */
  get columns(): C {
    return this.#columns;
  }

  get head(): number {
    return this.#head;
  }

  get length(): number {
    return this.#tail - this.#head;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Slot of the row `index` places after the head. */
  slot(index: number): number {
    return this.#head + index;
  }

  /** Reserves a row at the tail and returns its slot. */
  pushSlot(): number {
    if (this.#tail === this.#capacity) this.#makeRoom();
    return this.#tail++;
  }

  /** Reserves `count` rows at the tail and returns the slot of the first (rows fill in bulk). */
  pushSlots(count: number): number {
    while (this.#capacity - this.#tail < count) this.#makeRoom();
    const first = this.#tail;
    this.#tail += count;
    return first;
  }

  /** Forgets the `count` oldest rows. */
  dropFront(count: number): void {
    this.#head = Math.min(this.#tail, this.#head + count);
    if (this.#head === this.#tail) {
      this.#head = 0;
      this.#tail = 0;
    }
  }

  /** Forgets the `count` newest rows (used to roll back). */
  dropBack(count: number): void {
    this.#tail = Math.max(this.#head, this.#tail - count);
  }

  #makeRoom(): void {
    const length = this.length;
    const capacity = this.capacity;
    if (this.#head > 0 && length + 1 <= capacity / 2) {
      for (const column of Object.values(this.#columns))
        column.copyWithin(0, this.#head, this.#tail);
    } else {
      const next = this.#make(capacity * 2);
      for (const [name, column] of Object.entries(this.#columns)) {
        const target = next[name]!;
        if (target instanceof BigInt64Array)
          target.set((column as BigInt64Array).subarray(this.#head, this.#tail));
        else
          (target as Uint32Array | Float64Array).set(
            (column as Uint32Array | Float64Array).subarray(this.#head, this.#tail),
          );
      }
      this.#columns = next;
      this.#capacity = capacity * 2;
    }
    this.#head = 0;
    this.#tail = length;
  }
}
