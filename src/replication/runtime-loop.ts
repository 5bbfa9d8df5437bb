// The scheduler and lifecycle of a channel's replication runtime, apart from what its steps do:
// one loop driven by the injected Clock (tick timer, a replica's stand-for-election timer), the
// append announcements and the inbox, start / graceful shutdown / abort, and the abort race
// every outside await goes through.
//
// Each turn of the loop takes, in this order: a priority event (Shutdown, SyncResponse, SyncNack),
// a due tick, a due stand check, a due append announcement, a normal event (Heartbeat,
// SyncRequest). Steps never overlap, so the role read, the tracker and the send decisions of a
// step are consistent.
// `shutdown` never hangs: every await on the outside world races an abort, and a shutdown that
// has not finished after `CANCEL_GRACE_MS` on the clock aborts.

import type { Clock, TimerHandle } from '../time/clock.js';
import { type InboundMessage, RuntimeInbox, SHUTDOWN } from './inbox.js';
import type { TickHandle, TickScheduler } from './tick-scheduler.js';

/** A shutdown still running after this long (on the runtime's clock) is aborted. */
export const CANCEL_GRACE_MS = 5_000;
/** Thrown through every outside await once the runtime is aborted; never escapes the loop. */
export const ABORTED: unique symbol = Symbol('replication runtime aborted');

export abstract class RuntimeLoop {
  readonly heartbeatMs: number;
  readonly #clock: Clock;
  // The node's shared tick grid, if any; else the loop keeps its own repeating timer.
  readonly #ticks: TickScheduler | undefined;
  readonly #inbox: RuntimeInbox;
  // Invariants: #ended ⇒ no live timer and the inbox closed; #aborted ⇒ #started.
  #started = false;
  #ended = false;
  #aborted = false;
  #shutdownRequested = false;
  #tickDue = false;
  #standDue = false;
  #notifyDue = false;
  // A step asked for by the channel's owner (a leadership transfer); at most one waits.
  #localStep: (() => Promise<void>) | null = null;
  #tickTimer: (TimerHandle & Partial<TickHandle>) | null = null;
  // At most one; armed only while a replica waits for its turn to stand (rare when idle).
  #standTimer: TimerHandle | null = null;
  #standAtMs: number | null = null;
  #graceTimer: TimerHandle | null = null;
  #wake: (() => void) | null = null;
  // Rejecters of the outside awaits in progress (steps are sequential, so at most a few).
  readonly #pendingIo = new Set<(reason: unknown) => void>();
  #resolveDone: () => void = () => {};
  readonly #done: Promise<void>;

  protected constructor(
    clock: Clock,
    heartbeatMs: number,
    inboxLabel: string,
    ticks?: TickScheduler,
  ) {
    this.#clock = clock;
    this.#ticks = ticks;
    this.heartbeatMs = heartbeatMs;
    this.#inbox = new RuntimeInbox(inboxLabel, () => this.#wakeUp());
    this.#done = new Promise<void>((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  /** One heartbeat period. */
  abstract onTick(): Promise<void>;
  /**
   * A tick that comes while the loop waits with nothing to do may be handled here, at once and
   * synchronously, when nothing is due: then the time before which no tick is needed (the
   * channel's ticks sleep until then, or until its next step); null runs `onTick` as a step.
   */
  protected quietTick(): number | null {
    return null;
  }
  /** While parked: the ticks sleep until `atMs` (nothing can be due before; see quietTick). */
  protected sleepTicksUntil(atMs: number): void {
    if (this.parked) this.#tickTimer?.sleepUntil?.(atMs);
  }
  /** One message from a peer. */
  abstract onInbound(event: InboundMessage): Promise<void>;
  /** Leader: the coalesced append announcement. */
  protected abstract onAnnounce(): Promise<void>;
  /** True while the loop waits with nothing to do: no step runs or is queued. */
  protected get parked(): boolean {
    return this.#wake !== null && !this.#shutdownRequested;
  }

  /** Replica: the moment `scheduleStandCheck` asked for came. */
  protected abstract onStandCheck(): Promise<void>;
  /** After each step, whether it threw or not. */
  protected abstract afterStep(): void;
  /** A step threw something unexpected (a bug). */
  protected abstract stepFailed(error: unknown): void;
  /** The graceful last step of a shutdown (not run after an abort). */
  protected abstract closeGracefully(): Promise<void>;
  /** Releases what the subclass holds, once, when the loop ends. */
  protected abstract released(): void;

  /** The inbox the handle pushes into. */
  get inbox(): RuntimeInbox {
    return this.#inbox;
  }

  get started(): boolean {
    return this.#started;
  }

  /** True once the loop has really ended (not merely been asked to). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Resolves when the loop has ended. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Starts the loop; the first tick comes one heartbeat period from now (with a shared tick grid:
   * at the grid's next beat, at most one period from now).
   */
  start(): void {
    if (this.#started || this.#ended) throw new Error('replication runtime: started twice');
    this.#started = true;
    this.#scheduleTick();
    void this.#run();
  }

  /**
   * Asks the loop to stop after the graceful Idle transition; resolves once it ended. Never
   * blocked by a full inbox (the request then bypasses the lane) and never hangs: after
   * `CANCEL_GRACE_MS` the loop is aborted wherever it is waiting.
   */
  shutdown(): Promise<void> {
    if (this.#ended) return this.#done;
    if (!this.#started) {
      this.#finish();
      return this.#done;
    }
    if (!this.#shutdownRequested) {
      this.#shutdownRequested = true;
      // In the lane, Shutdown is ordered after the responses already queued. With the lane full
      // it cannot be queued: the flag then stops the loop as soon as the lane is drained.
      this.#inbox.tryPush(SHUTDOWN);
      this.#graceTimer = this.#clock.setTimer(CANCEL_GRACE_MS, () => this.abort());
      this.#wakeUp();
    }
    return this.#done;
  }

  /** Stops the loop at its current await, without the graceful Idle transition. */
  abort(): void {
    if (this.#ended) return;
    if (!this.#started) {
      this.#finish();
      return;
    }
    this.#aborted = true;
    for (const reject of [...this.#pendingIo]) reject(ABORTED);
    this.#pendingIo.clear();
    this.#wakeUp();
  }

  /**
   * Runs `step` as the loop's next step (after the priority lane), so a local decision never
   * interleaves with a step in progress. False when one is already waiting or the loop ended.
   */
  protected runLocalStep(step: () => Promise<void>): boolean {
    if (!this.#started || this.#ended || this.#shutdownRequested || this.#localStep !== null) {
      return false;
    }
    this.#localStep = step;
    this.#wakeUp();
    return true;
  }

  /**
   * Runs the append announcement as the loop's next step (coalesced: at most one pending). No
   * timer: a zero-delay timer runs in the event loop's check phase, after every socket that is
   * readable in this turn was served, so a leader taking a burst of HTTP appends held its replicas'
   * parked requests until the whole burst was parsed; now the replicas fetch the first group while
   * the leader parses the rest. Appends of one synchronous run still share one announcement.
   */
  protected scheduleNotify(): void {
    if (!this.#started || this.#ended) return;
    this.#notifyDue = true;
    this.#wakeUp();
  }

  /**
   * Runs `onStandCheck` at `atMs` on the clock, between ticks. One pending at a time: a different
   * moment replaces it, the same one keeps it.
   */
  protected scheduleStandCheck(atMs: number): void {
    if (!this.#started || this.#ended) return;
    if (this.#standTimer !== null && this.#standAtMs === atMs) return;
    this.#standTimer?.cancel();
    this.#standAtMs = atMs;
    this.#standTimer = this.#clock.setTimer(Math.max(0, atMs - this.#clock.nowMs()), () => {
      this.#standTimer = null;
      this.#standAtMs = null;
      this.#standDue = true;
      this.#wakeUp();
    });
  }

  /**
   * Every await on the outside world goes through here, so an abort can interrupt it. (Not
   * `Promise.race` with one abort promise: each race would leave a reaction on it for the
   * runtime's whole life.)
   */
  protected io<T>(promise: Promise<T>): Promise<T> {
    if (!this.#started) return promise;
    if (this.#aborted) return Promise.reject(ABORTED);
    return new Promise<T>((resolve, reject) => {
      const pending = this.#pendingIo;
      pending.add(reject);
      promise.then(
        (value) => {
          pending.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          pending.delete(reject);
          reject(error);
        },
      );
    });
  }

  protected assertLoopInvariants(): void {
    this.#inbox.assertInvariants();
    if (!this.#ended) return;
    if (this.#tickTimer !== null || this.#standTimer !== null || this.#graceTimer !== null) {
      throw new Error('runtime: ended with a live timer');
    }
    if (!this.#inbox.closed) throw new Error('runtime: ended with an open inbox');
  }

  async #run(): Promise<void> {
    try {
      while (!this.#aborted) {
        const urgent = this.#inbox.popPriority();
        if (urgent !== undefined) {
          if (urgent.kind === 'shutdown') break;
          await this.#step(() => this.onInbound(urgent));
          continue;
        }
        if (this.#shutdownRequested) break;
        const local = this.#localStep;
        if (local !== null) {
          this.#localStep = null;
          await this.#step(local);
          continue;
        }
        if (this.#tickDue) {
          this.#tickDue = false;
          await this.#step(() => this.onTick());
          continue;
        }
        if (this.#standDue) {
          this.#standDue = false;
          await this.#step(() => this.onStandCheck());
          continue;
        }
        if (this.#notifyDue) {
          this.#notifyDue = false;
          await this.#step(() => this.onAnnounce());
          continue;
        }
        const event = this.#inbox.popNormal();
        if (event !== undefined) {
          if (event.kind === 'shutdown') break;
          await this.#step(() => this.onInbound(event));
          continue;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
      if (!this.#aborted) {
        await this.io(this.closeGracefully()).catch((error: unknown) => {
          if (error === ABORTED) throw error;
        });
      }
    } catch (error) {
      if (error !== ABORTED) this.stepFailed(error);
    } finally {
      this.#finish();
    }
  }

  async #step(run: () => Promise<void>): Promise<void> {
    // A step may change what the next tick decides: the ticks run every period again.
    this.#tickTimer?.wake?.();
    try {
      await run();
    } catch (error) {
      if (error === ABORTED) throw error;
      this.stepFailed(error);
    }
    this.afterStep();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  #scheduleTick(): void {
    if (this.#ticks !== undefined) {
      this.#tickTimer = this.#ticks.every(this.heartbeatMs, () => this.#tickFired());
      return;
    }
    this.#tickTimer = this.#clock.setTimer(this.heartbeatMs, () => {
      // Rescheduled from the timer, not from the step, so the period does not drift; a tick
      // that falls due while one is pending is merged into it.
      this.#scheduleTick();
      this.#tickFired();
    });
  }

  #tickFired(): void {
    // Only while the loop is parked (no step running, nothing queued) may a quiet tick run
    // outside it: steps never overlap.
    if (this.parked) {
      try {
        const quietUntilMs = this.quietTick();
        if (quietUntilMs !== null) {
          this.#tickTimer?.sleepUntil?.(quietUntilMs);
          return;
        }
      } catch {
        // Runs in a timer callback: whatever threw runs again in the full tick, where a step's
        // failure is counted.
      }
    }
    this.#tickDue = true;
    this.#wakeUp();
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#tickTimer?.cancel();
    this.#standTimer?.cancel();
    this.#graceTimer?.cancel();
    this.#tickTimer = null;
    this.#standTimer = null;
    this.#standAtMs = null;
    this.#graceTimer = null;
    this.#localStep = null;
    this.#inbox.close();
    this.released();
    this.#resolveDone();
  }
}
