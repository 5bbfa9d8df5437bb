// Bandwidth budget (docs/DESIGN.md#bandwidth-budget-and-sync-classes): the leader's token bucket
// for catch-up responses, with the three request classes. Pure: every call takes `nowMs`,
// nothing reads a clock.
//
// Owns: the token balance, which may go negative ("debt") for Realtime and the starvation hatch.
// Called by: the runtime before sending a SyncResponse (cost = its encoded size), and again with
// `refund` when the send fails.
//
// Rules, with the reasons they differ from upstream:
// - refill = nicPeakBps × fraction, capacity = one second of refill, starts full; a fraction that
//   is not finite or ≤ 0 becomes `FRACTION_EPSILON` (the bucket crawls instead of dividing by 0),
//   above 1 it becomes 1.
// - Foreground: admitted when the balance covers the cost; also, once per full bucket, a request
//   larger than the whole capacity (it could never be afforded otherwise) drains the bucket.
// - Background: admitted only if the balance after it stays ≥ (1 − backgroundFraction) ×
//   capacity, the reserve kept for Foreground. Starved for more than 60 s it may take one request
//   of at most 10% of capacity (upstream's hatch had no size limit).
// - Realtime: admitted into debt, but denied when the debt would exceed 50% of capacity
//   (upstream admitted it unconditionally); never denied where Foreground would pass.
// - refund pays debt first, then credits up to capacity (upstream's refund erased Realtime's
//   debt).

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { SyncClass } from '../wire/types.js';

export const BACKGROUND_STARVE_WINDOW_MS = 60_000;
/** Largest starvation-hatch grant, as a share of capacity. */
export const BACKGROUND_HATCH_FRACTION_MAX = 0.1;
/** Deepest debt Realtime may put the bucket in, as a share of capacity. */
export const REALTIME_DEBT_FRACTION_MAX = 0.5;
/** What a non-finite or non-positive budget fraction becomes (f32 epsilon, like upstream). */
export const FRACTION_EPSILON = 2 ** -23;
export const DEFAULT_BACKGROUND_FRACTION = 0.3;

/** How an admitted request was paid for; null from `admit` means denied. */
export type Admission = 'credit' | 'oversize' | 'hatch' | 'debt';

export interface BudgetOptions {
  /** Measured NIC peak, bytes per second. */
  readonly nicPeakBps: number;
  /** Share of the peak this budget may use. */
  readonly fraction: number;
  readonly nowMs: number;
  /** Override of the 60 s starvation window (tests). */
  readonly backgroundStarveWindowMs?: number;
}

export function clampBudgetFraction(fraction: number): number {
  if (!Number.isFinite(fraction) || fraction <= 0) return FRACTION_EPSILON;
  return Math.min(fraction, 1);
}

function clampBackgroundFraction(fraction: number): number {
  if (Number.isNaN(fraction)) return DEFAULT_BACKGROUND_FRACTION;
  return Math.min(1, Math.max(0, fraction));
}

function checkNicPeak(nicPeakBps: number): void {
  if (!Number.isFinite(nicPeakBps) || nicPeakBps <= 0) {
    throw new RedexError(
      RedexErrorCode.InvalidArgument,
      `bandwidth budget: nicPeakBps must be a finite number > 0, got ${nicPeakBps}`,
    );
  }
}

// Float slack for "the bucket is full" after refills that add fractions of a byte.
const FULL_SLACK_BYTES = 1e-6;

export class BandwidthBudget {
  #refillBps: number;
  // Invariant: > 0; equal to #refillBps (one second of refill).
  #capacity: number;
  // Invariant: −(REALTIME_DEBT + HATCH) × capacity ≤ #available ≤ capacity. Negative = debt.
  #available: number;
  #lastRefillMs: number;
  #lastBackgroundAdmissionMs: number;
  readonly #starveWindowMs: number;

  constructor(options: BudgetOptions) {
    checkNicPeak(options.nicPeakBps);
    this.#refillBps = options.nicPeakBps * clampBudgetFraction(options.fraction);
    this.#capacity = this.#refillBps;
    this.#available = this.#capacity;
    this.#lastRefillMs = options.nowMs;
    // Seeded with construction time so the first Background request meets the gate, not the hatch.
    this.#lastBackgroundAdmissionMs = options.nowMs;
    this.#starveWindowMs = options.backgroundStarveWindowMs ?? BACKGROUND_STARVE_WINDOW_MS;
  }

  get refillBps(): number {
    return this.#refillBps;
  }

  get capacityBytes(): number {
    return this.#capacity;
  }

  /** Whole bytes available now (0 while in debt). Call `refill` first for a fresh reading. */
  get availableBytes(): number {
    return Math.max(0, Math.floor(this.#available));
  }

  /** Whole bytes of debt (0 when not in debt). */
  get debtBytes(): number {
    return this.#available < 0 ? Math.ceil(-this.#available) : 0;
  }

  /** Adds the refill accrued since the last call, capped at capacity. Time going back is ignored. */
  refill(nowMs: number): void {
    const elapsedMs = nowMs - this.#lastRefillMs;
    if (!(elapsedMs > 0)) return;
    this.#available = Math.min(
      this.#capacity,
      this.#available + (this.#refillBps * elapsedMs) / 1000,
    );
    this.#lastRefillMs = nowMs;
  }

  /**
   * Decides one request of `cost` bytes. Returns how it was paid for, or null when denied (the
   * balance is then unchanged apart from refill). A cost of 0 is always admitted for free.
   */
  admit(
    cost: number,
    syncClass: SyncClass,
    nowMs: number,
    backgroundFraction = DEFAULT_BACKGROUND_FRACTION,
  ): Admission | null {
    if (!Number.isFinite(cost) || cost < 0) {
      throw new RedexError(
        RedexErrorCode.InvalidArgument,
        `bandwidth budget: cost must be a finite number ≥ 0, got ${cost}`,
      );
    }
    if (cost === 0) return 'credit';
    this.refill(nowMs);
    switch (syncClass) {
      case SyncClass.Background:
        return this.#admitBackground(cost, nowMs, clampBackgroundFraction(backgroundFraction));
      case SyncClass.Realtime:
        return this.#admitRealtime(cost);
      default:
        return this.#admitForeground(cost);
    }
  }

  /** `admit` as a boolean. */
  tryConsume(
    cost: number,
    syncClass: SyncClass,
    nowMs: number,
    backgroundFraction = DEFAULT_BACKGROUND_FRACTION,
  ): boolean {
    return this.admit(cost, syncClass, nowMs, backgroundFraction) !== null;
  }

  /** Gives back `bytes` of an admitted request whose send failed: debt first, then credit. */
  refund(bytes: number): void {
    if (!Number.isFinite(bytes) || bytes <= 0) return;
    this.#available = Math.min(this.#capacity, this.#available + bytes);
  }

  /**
   * Rescales to a new NIC peak keeping the fill proportion, and restarts the starvation timer so
   * a stale timer does not hand the first request after a shrink a free pass (upstream did).
   */
  setNicPeak(nicPeakBps: number, fraction: number, nowMs: number): void {
    checkNicPeak(nicPeakBps);
    this.refill(nowMs);
    const proportion = this.#available / this.#capacity;
    this.#refillBps = nicPeakBps * clampBudgetFraction(fraction);
    this.#capacity = this.#refillBps;
    this.#available = Math.min(this.#capacity, this.#capacity * proportion);
    this.#lastBackgroundAdmissionMs = Math.max(this.#lastBackgroundAdmissionMs, nowMs);
  }

  #isFull(): boolean {
    return this.#available >= this.#capacity - FULL_SLACK_BYTES;
  }

  #admitForeground(cost: number): Admission | null {
    if (this.#available >= cost) {
      this.#available -= cost;
      return 'credit';
    }
    // An event larger than the whole bucket can never be afforded; let it through once per full
    // bucket so a channel with one huge event does not stall forever.
    if (cost > this.#capacity && this.#isFull()) {
      this.#available = 0;
      return 'oversize';
    }
    return null;
  }

  #admitBackground(cost: number, nowMs: number, backgroundFraction: number): Admission | null {
    const reserve = (1 - backgroundFraction) * this.#capacity;
    if (this.#available - cost >= reserve) {
      this.#available -= cost;
      this.#lastBackgroundAdmissionMs = nowMs;
      return 'credit';
    }
    const starved = nowMs - this.#lastBackgroundAdmissionMs > this.#starveWindowMs;
    if (starved && cost <= BACKGROUND_HATCH_FRACTION_MAX * this.#capacity) {
      this.#available -= cost;
      this.#lastBackgroundAdmissionMs = nowMs;
      return 'hatch';
    }
    return null;
  }

  #admitRealtime(cost: number): Admission | null {
    const floor = -REALTIME_DEBT_FRACTION_MAX * this.#capacity;
    if (this.#available - cost >= floor) {
      const paid: Admission = this.#available >= cost ? 'credit' : 'debt';
      this.#available -= cost;
      return paid;
    }
    return this.#admitForeground(cost);
  }

  assertInvariants(): void {
    const cap = this.#capacity;
    if (!(cap > 0) || !Number.isFinite(cap)) throw new Error(`budget: bad capacity ${cap}`);
    if (this.#available > cap + FULL_SLACK_BYTES) {
      throw new Error(`budget: available ${this.#available} above capacity ${cap}`);
    }
    const deepest = -(REALTIME_DEBT_FRACTION_MAX + BACKGROUND_HATCH_FRACTION_MAX) * cap;
    if (this.#available < deepest - FULL_SLACK_BYTES) {
      throw new Error(`budget: debt ${-this.#available} beyond ${-deepest}`);
    }
    if (!Number.isFinite(this.#lastRefillMs)) throw new Error('budget: bad lastRefillMs');
  }
}
