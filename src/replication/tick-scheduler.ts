// One timer per heartbeat period for every channel of a node (docs/DESIGN.md#coalesced-heartbeats).
// Each channel's runtime used to keep its own repeating tick timer; with thousands of channels
// that is thousands of timers at scattered phases, and heartbeats that leave one by one. Here
// every channel with the same period ticks on one shared grid, so their heartbeats are produced
// in the same burst and the coalescing dispatcher sends them as one frame per peer.
//
// A channel joining the grid gets its first tick at the grid's next beat (at most one period
// away). The grid runs on the injected Clock and is rescheduled from its own deadline, so it does
// not drift; subscribers are called in the order they joined (deterministic under the simulation).

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import type { Clock, TimerHandle } from '../time/clock.js';

/** Channels on one grid; the router's bound is the same. */
export const TICK_SUBSCRIBERS_MAX = 65_536;
/** Distinct periods at once (channels normally share one or two). */
export const TICK_PERIODS_MAX = 64;

interface Grid {
  readonly periodMs: number;
  nextAtMs: number;
  timer: TimerHandle | null;
  /** A late beat's run, put off until the frames that arrived meanwhile were read (or null). */
  deferred: TimerHandle | null;
  // Insertion-ordered; a callback removed during a beat is skipped from then on.
  readonly subscribers: Set<() => void>;
}

export class TickScheduler {
  readonly #clock: Clock;
  readonly #grids = new Map<number, Grid>();
  /** Beats run (one per grid per period), for tests and metrics. */
  beats = 0;
  /** Beats that fired more than half a period late and ran a loop turn later. */
  lateBeats = 0;
  // Told after every beat's subscribers ran (the node beat rides on it).
  #afterBeat: (() => void) | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `listener` after each beat of any grid, once its channels were told (one listener). */
  onBeat(listener: (() => void) | null): void {
    this.#afterBeat = listener;
  }

  /** Channels subscribed, over every period. */
  get size(): number {
    let total = 0;
    for (const grid of this.#grids.values()) total += grid.subscribers.size;
    return total;
  }

  /**
   * Calls `onTick` every `periodMs` (an integer ≥ 1) on the shared grid of that period until the
   * returned handle is cancelled. Each call gets its own handle, even for the same function.
   */
  every(periodMs: number, onTick: () => void): TimerHandle {
    if (!Number.isSafeInteger(periodMs) || periodMs < 1) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `tick scheduler: period must be an integer ≥ 1, got ${periodMs}`,
      );
    }
    let grid = this.#grids.get(periodMs);
    if (grid === undefined) {
      if (this.#grids.size >= TICK_PERIODS_MAX) {
        throw new RedexError(
          RedexErrorCode.InvalidArgument,
          `tick scheduler: more than ${TICK_PERIODS_MAX} distinct periods`,
        );
      }
      grid = {
        periodMs,
        nextAtMs: this.#clock.nowMs() + periodMs,
        timer: null,
        deferred: null,
        subscribers: new Set(),
      };
      this.#grids.set(periodMs, grid);
      this.#arm(grid);
    }
    if (grid.subscribers.size >= TICK_SUBSCRIBERS_MAX) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `tick scheduler: more than ${TICK_SUBSCRIBERS_MAX} channels on one period`,
      );
    }
    // A fresh wrapper per call, so two subscriptions of one function stay distinct.
    const entry = () => onTick();
    grid.subscribers.add(entry);
    const owner = grid;
    return {
      cancel: () => {
        if (!owner.subscribers.delete(entry) || owner.subscribers.size > 0) return;
        owner.timer?.cancel();
        owner.timer = null;
        owner.deferred?.cancel();
        owner.deferred = null;
        if (this.#grids.get(owner.periodMs) === owner) this.#grids.delete(owner.periodMs);
      },
    };
  }

  #arm(grid: Grid): void {
    const delay = Math.max(0, grid.nextAtMs - this.#clock.nowMs());
    grid.timer = this.#clock.setTimer(delay, () => this.#beat(grid));
  }

  #beat(grid: Grid): void {
    grid.timer = null;
    if (this.#grids.get(grid.periodMs) !== grid) return;
    // From the deadline, not from now, so the grid does not drift; a late beat skips what it missed.
    const now = this.#clock.nowMs();
    const lateMs = now - grid.nextAtMs;
    grid.nextAtMs += grid.periodMs;
    if (grid.nextAtMs <= now) {
      grid.nextAtMs = now + grid.periodMs - ((now - grid.nextAtMs) % grid.periodMs);
    }
    this.#arm(grid);
    if (lateMs > grid.periodMs / 2 && grid.deferred === null) {
      // The event loop was blocked (a busy or starved process): timers run before the loop reads
      // its sockets, so the channels would judge their peers silent on frames that are already
      // here, unread, and leaders would step down by the thousand. A zero-delay timer runs in the
      // loop's next turn, after the frames that arrived meanwhile were read.
      this.lateBeats++;
      grid.deferred = this.#clock.setTimer(0, () => {
        grid.deferred = null;
        if (this.#grids.get(grid.periodMs) === grid) this.#run(grid);
      });
      return;
    }
    if (grid.deferred !== null) return;
    this.#run(grid);
  }

  #run(grid: Grid): void {
    this.beats++;
    for (const subscriber of [...grid.subscribers]) {
      if (grid.subscribers.has(subscriber)) subscriber();
    }
    this.#afterBeat?.();
  }

  assertInvariants(): void {
    if (this.#grids.size > TICK_PERIODS_MAX) throw new Error('tick scheduler: too many periods');
    for (const grid of this.#grids.values()) {
      if (grid.subscribers.size === 0) throw new Error('tick scheduler: an empty grid is armed');
      if (grid.subscribers.size > TICK_SUBSCRIBERS_MAX) {
        throw new Error('tick scheduler: too many subscribers');
      }
    }
  }
}
