// One timer per heartbeat period for every channel of a node (docs/DESIGN.md#coalesced-heartbeats).
// Each channel's runtime used to keep its own repeating tick timer; with thousands of channels
// that is thousands of timers at scattered phases, and heartbeats that leave one by one. Here
// every channel with the same period ticks on one shared grid, so their heartbeats are produced
// in the same burst and the coalescing dispatcher sends them as one frame per peer.
//
// A channel joining the grid gets its first tick at the grid's next beat (at most one period
// away). The grid runs on the injected Clock and is rescheduled from its own deadline, so it does
// not drift; subscribers are called in the order they joined or woke (deterministic under the
// simulation).
//
// A subscriber with nothing due for a while sleeps (`sleepUntil`): it is kept in a bucket of the
// beat it wakes at and costs nothing until then, so a beat visits only the channels that are due
// (docs/DESIGN.md#sleeping-channels). `wake` (the channel has work) and the node-wide `wakeWhen`
// check (a peer's connection changed or its node beats lapsed) bring sleepers back early.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import type { Clock, TimerHandle } from '../time/clock.js';

/** Channels on one grid; the router's bound is the same. */
export const TICK_SUBSCRIBERS_MAX = 65_536;
/** Distinct periods at once (channels normally share one or two). */
export const TICK_PERIODS_MAX = 64;
/** The longest a subscriber sleeps, in beats (a longer request wakes it this many beats on). */
export const TICK_SLEEP_MAX_BEATS = 64;

/** A subscription to a grid. */
export interface TickHandle extends TimerHandle {
  /**
   * Skips this subscriber's beats before `atMs`: the next call is at the first beat at or after
   * it (at most TICK_SLEEP_MAX_BEATS beats on). A time not past the next beat changes nothing.
   */
  sleepUntil(atMs: number): void;
  /** Ends a sleep: the subscriber is called again from the next beat on. */
  wake(): void;
}

interface Subscriber {
  readonly onTick: () => void;
  /** The beat number it sleeps until, or null while awake. */
  wakeBeat: number | null;
}

interface Grid {
  readonly periodMs: number;
  /** The first beat's time: beat n is due at firstAtMs + n × periodMs. */
  readonly firstAtMs: number;
  nextAtMs: number;
  /** The number of the beat that ran last (or runs now); -1 before the first. */
  beatNo: number;
  timer: TimerHandle | null;
  /** A late beat's run, put off until the frames that arrived meanwhile were read (or null). */
  deferred: TimerHandle | null;
  // Insertion-ordered; a callback removed during a beat is skipped from then on.
  readonly awake: Set<Subscriber>;
  /** Sleepers by the beat they wake at (keys in beatNo + 1 .. beatNo + TICK_SLEEP_MAX_BEATS). */
  readonly sleeping: Map<number, Set<Subscriber>>;
  /** Awake and sleeping subscribers. */
  size: number;
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
  // Asked before each beat's subscribers run; true wakes every sleeper of every grid.
  #wakeCheck: ((nowMs: number, periodMs: number) => boolean) | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `listener` after each beat of any grid, once its channels were told (one listener). */
  onBeat(listener: (() => void) | null): void {
    this.#afterBeat = listener;
  }

  /**
   * Calls `check` at each beat of any grid, before its subscribers run (one check); when it
   * returns true every sleeping subscriber is woken and runs in that beat.
   */
  wakeWhen(check: ((nowMs: number, periodMs: number) => boolean) | null): void {
    this.#wakeCheck = check;
  }

  /** Channels subscribed, over every period. */
  get size(): number {
    let total = 0;
    for (const grid of this.#grids.values()) total += grid.size;
    return total;
  }

  /** Subscribers asleep now, over every period. */
  get sleeping(): number {
    let total = 0;
    for (const grid of this.#grids.values()) total += grid.size - grid.awake.size;
    return total;
  }

  /**
   * Calls `onTick` every `periodMs` (an integer ≥ 1) on the shared grid of that period until the
   * returned handle is cancelled. Each call gets its own handle, even for the same function.
   */
  every(periodMs: number, onTick: () => void): TickHandle {
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
      const firstAtMs = this.#clock.nowMs() + periodMs;
      grid = {
        periodMs,
        firstAtMs,
        nextAtMs: firstAtMs,
        beatNo: -1,
        timer: null,
        deferred: null,
        awake: new Set(),
        sleeping: new Map(),
        size: 0,
      };
      this.#grids.set(periodMs, grid);
      this.#arm(grid);
    }
    if (grid.size >= TICK_SUBSCRIBERS_MAX) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `tick scheduler: more than ${TICK_SUBSCRIBERS_MAX} channels on one period`,
      );
    }
    // A fresh entry per call, so two subscriptions of one function stay distinct.
    const entry: Subscriber = { onTick, wakeBeat: null };
    grid.awake.add(entry);
    grid.size++;
    const owner = grid;
    let cancelled = false;
    return {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        if (entry.wakeBeat === null) owner.awake.delete(entry);
        else unsleep(owner, entry);
        owner.size--;
        if (owner.size > 0) return;
        owner.timer?.cancel();
        owner.timer = null;
        owner.deferred?.cancel();
        owner.deferred = null;
        if (this.#grids.get(owner.periodMs) === owner) this.#grids.delete(owner.periodMs);
      },
      sleepUntil: (atMs: number) => {
        if (cancelled) return;
        const wanted = Math.ceil((atMs - owner.firstAtMs) / owner.periodMs);
        const wakeBeat = Math.min(wanted, owner.beatNo + TICK_SLEEP_MAX_BEATS);
        if (!(wakeBeat > owner.beatNo + 1)) return; // due at the next beat anyway (or NaN)
        if (entry.wakeBeat === wakeBeat) return;
        if (entry.wakeBeat === null) owner.awake.delete(entry);
        else unsleep(owner, entry);
        entry.wakeBeat = wakeBeat;
        let bucket = owner.sleeping.get(wakeBeat);
        if (bucket === undefined) {
          bucket = new Set();
          owner.sleeping.set(wakeBeat, bucket);
        }
        bucket.add(entry);
      },
      wake: () => {
        if (cancelled || entry.wakeBeat === null) return;
        unsleep(owner, entry);
        owner.awake.add(entry);
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
    // The latest beat due by now: a sleeper due at a skipped beat wakes at this one.
    grid.beatNo = Math.max(grid.beatNo + 1, Math.floor((now - grid.firstAtMs) / grid.periodMs));
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
    if (this.#wakeCheck?.(this.#clock.nowMs(), grid.periodMs) === true) {
      for (const each of this.#grids.values()) wakeAll(each);
    }
    wakeDue(grid);
    for (const subscriber of [...grid.awake]) {
      // Cancelled or put to sleep by an earlier subscriber of this beat: skipped.
      if (grid.awake.has(subscriber)) subscriber.onTick();
    }
    this.#afterBeat?.();
  }

  assertInvariants(): void {
    if (this.#grids.size > TICK_PERIODS_MAX) throw new Error('tick scheduler: too many periods');
    for (const grid of this.#grids.values()) {
      if (grid.size === 0) throw new Error('tick scheduler: an empty grid is armed');
      if (grid.size > TICK_SUBSCRIBERS_MAX) throw new Error('tick scheduler: too many subscribers');
      let asleep = 0;
      for (const [beat, bucket] of grid.sleeping) {
        if (bucket.size === 0) throw new Error('tick scheduler: an empty sleep bucket is kept');
        if (beat > grid.beatNo + TICK_SLEEP_MAX_BEATS) {
          throw new Error('tick scheduler: a sleep beyond the bound');
        }
        for (const entry of bucket) {
          if (entry.wakeBeat !== beat)
            throw new Error('tick scheduler: a sleeper in the wrong bucket');
        }
        asleep += bucket.size;
      }
      if (asleep + grid.awake.size !== grid.size)
        throw new Error('tick scheduler: lost a subscriber');
    }
  }
}

/** Takes a sleeper out of its bucket (it is then in no set). */
function unsleep(grid: Grid, entry: Subscriber): void {
  const beat = entry.wakeBeat;
  if (beat === null) return;
  entry.wakeBeat = null;
  const bucket = grid.sleeping.get(beat);
  if (bucket === undefined) return;
  bucket.delete(entry);
  if (bucket.size === 0) grid.sleeping.delete(beat);
}

/** Moves the sleepers due by the grid's current beat back among the awake, earliest bucket first. */
function wakeDue(grid: Grid): void {
  if (grid.sleeping.size === 0) return;
  // Keys lie within TICK_SLEEP_MAX_BEATS of the beat they were set at; after a long stall every
  // bucket may be due, so walk the keys rather than a range.
  const due: number[] = [];
  for (const beat of grid.sleeping.keys()) if (beat <= grid.beatNo) due.push(beat);
  if (due.length === 0) return;
  due.sort((a, b) => a - b);
  for (const beat of due) {
    const bucket = grid.sleeping.get(beat);
    if (bucket === undefined) continue;
    grid.sleeping.delete(beat);
    for (const entry of bucket) {
      entry.wakeBeat = null;
      grid.awake.add(entry);
    }
  }
}

function wakeAll(grid: Grid): void {
  const beats = [...grid.sleeping.keys()].sort((a, b) => a - b);
  for (const beat of beats) {
    const bucket = grid.sleeping.get(beat);
    grid.sleeping.delete(beat);
    for (const entry of bucket ?? []) {
      entry.wakeBeat = null;
      grid.awake.add(entry);
    }
  }
}
