import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VirtualClock } from '../../src/time/index.js';
import {
  BACKGROUND_HATCH_FRACTION_MAX,
  BACKGROUND_STARVE_WINDOW_MS,
  BandwidthBudget,
  FRACTION_EPSILON,
  REALTIME_DEBT_FRACTION_MAX,
  RedexError,
  SyncClass,
} from './imports.js';

const { Foreground: FG, Background: BG, Realtime: RT } = SyncClass;
const T0 = 1_700_000_000_000;

function budget(capacity: number, nowMs = T0): BandwidthBudget {
  return new BandwidthBudget({ nicPeakBps: capacity, fraction: 1, nowMs });
}

/** Admits `chunk`-byte requests at one instant until one is denied; returns the bytes admitted. */
function drain(
  b: BandwidthBudget,
  chunk: number,
  syncClass: SyncClass,
  nowMs: number,
  bgFraction?: number,
) {
  let admitted = 0;
  for (let i = 0; i < 1_000_000; i++) {
    if (!b.tryConsume(chunk, syncClass, nowMs, bgFraction)) return admitted;
    admitted += chunk;
  }
  throw new Error('the budget never ran out');
}

describe('BandwidthBudget: construction', () => {
  it('refills at nicPeak × fraction, holds one second, starts full', () => {
    const b = new BandwidthBudget({ nicPeakBps: 2 * 1024 * 1024, fraction: 0.5, nowMs: T0 });
    assert.equal(b.refillBps, 1024 * 1024);
    assert.equal(b.capacityBytes, 1024 * 1024);
    assert.equal(b.availableBytes, 1024 * 1024);
    assert.equal(b.debtBytes, 0);
    b.assertInvariants();
  });

  it('clamps the fraction: >1 → 1, not finite or ≤ 0 → a tiny epsilon', () => {
    assert.equal(new BandwidthBudget({ nicPeakBps: 1e6, fraction: 2, nowMs: T0 }).refillBps, 1e6);
    for (const fraction of [
      0,
      -1,
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ]) {
      const b = new BandwidthBudget({ nicPeakBps: 1e9, fraction, nowMs: T0 });
      assert.equal(b.refillBps, 1e9 * FRACTION_EPSILON, String(fraction));
      assert.ok(b.refillBps > 0 && b.refillBps < 200);
    }
  });

  it('rejects a NIC peak that is not a positive finite number', () => {
    for (const nicPeakBps of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new BandwidthBudget({ nicPeakBps, fraction: 0.5, nowMs: T0 }),
        RedexError,
      );
    }
  });

  it('rejects a negative or non-finite cost and admits a zero cost for free', () => {
    const b = budget(1000);
    assert.throws(() => b.admit(-1, FG, T0), RedexError);
    assert.throws(() => b.admit(Number.NaN, FG, T0), RedexError);
    b.admit(1000, FG, T0);
    assert.equal(b.admit(0, FG, T0), 'credit');
    assert.equal(b.availableBytes, 0);
  });
});

describe('BandwidthBudget: Foreground', () => {
  it('exhausts after exactly one second of bytes and refills with time', async () => {
    const clock = new VirtualClock(T0);
    const b = budget(10_000, clock.nowMs());
    assert.equal(drain(b, 1000, FG, clock.nowMs()), 10_000);
    assert.equal(b.availableBytes, 0);
    await clock.advance(500);
    assert.equal(drain(b, 1000, FG, clock.nowMs()), 5000);
    await clock.advance(60_000);
    assert.equal(
      drain(b, 1000, FG, clock.nowMs()),
      10_000,
      'capped at capacity, not a minute of credit',
    );
    b.assertInvariants();
  });

  it('leaves the balance unchanged on denial', () => {
    const b = budget(1000);
    assert.equal(b.admit(600, FG, T0), 'credit');
    assert.equal(b.admit(500, FG, T0), null);
    assert.equal(b.availableBytes, 400);
    assert.equal(b.admit(400, FG, T0), 'credit');
  });

  it('admits an oversize request once per full bucket, draining it', () => {
    const b = budget(1000);
    assert.equal(b.admit(5000, FG, T0), 'oversize');
    assert.equal(b.availableBytes, 0);
    assert.equal(b.debtBytes, 0, 'oversize drains, it does not borrow');
    assert.equal(b.admit(5000, FG, T0 + 999), null, 'not full again yet');
    assert.equal(b.admit(5000, FG, T0 + 1000), 'oversize', 'full again after one second');
  });

  it('does not admit an oversize request from a partly used bucket', () => {
    const b = budget(1000);
    b.admit(1, FG, T0);
    assert.equal(b.admit(2000, FG, T0), null);
    assert.equal(b.availableBytes, 999);
  });

  it('ignores time going backwards', () => {
    const b = budget(1000);
    b.admit(1000, FG, T0);
    b.refill(T0 - 5000);
    assert.equal(b.availableBytes, 0);
    b.refill(T0 + 100);
    assert.equal(b.availableBytes, 100);
  });
});

describe('BandwidthBudget: Background', () => {
  it('keeps (1 − backgroundFraction) × capacity in reserve', () => {
    const b = budget(1000);
    // Only 300 of 1000 may go to Background with fraction 0.3.
    assert.equal(drain(b, 100, BG, T0, 0.3), 300);
    assert.equal(b.availableBytes, 700);
    // Foreground still has the reserve.
    assert.equal(drain(b, 100, FG, T0), 700);
  });

  it('fraction 0 admits no Background at all, fraction 1 all of it', () => {
    assert.equal(budget(1000).admit(1, BG, T0, 0), null);
    assert.equal(drain(budget(1000), 100, BG, T0, 1), 1000);
  });

  it('opens the starvation hatch after 60 s without admission, once, for ≤ 10% of capacity', async () => {
    const clock = new VirtualClock(T0);
    const b = budget(10_000, clock.nowMs());
    const hog = () => drain(b, 100, FG, clock.nowMs()); // Foreground keeps the bucket empty
    hog();
    for (let elapsed = 0; elapsed <= BACKGROUND_STARVE_WINDOW_MS; elapsed += 1000) {
      assert.equal(b.admit(500, BG, clock.nowMs()), null, `denied at ${elapsed} ms`);
      await clock.advance(1000);
      hog();
    }
    // Now starved for more than 60 s: a request above 10% of capacity is still refused…
    assert.ok(clock.nowMs() - T0 > BACKGROUND_STARVE_WINDOW_MS);
    const hatchMax = BACKGROUND_HATCH_FRACTION_MAX * b.capacityBytes;
    assert.equal(b.admit(hatchMax + 1, BG, clock.nowMs()), null);
    // …one at the limit gets through, into debt since Foreground emptied the bucket…
    assert.equal(b.admit(hatchMax, BG, clock.nowMs()), 'hatch');
    assert.equal(b.debtBytes, hatchMax);
    // …and only once: the hatch restarts its 60 s window.
    assert.equal(b.admit(1, BG, clock.nowMs()), null);
    await clock.advance(30_000);
    hog();
    assert.equal(b.admit(100, BG, clock.nowMs()), null);
    b.assertInvariants();
  });

  it('a gated admission restarts the starvation window', () => {
    const b = budget(1000);
    const admittedAt = T0 + 10_000;
    assert.equal(b.admit(200, BG, admittedAt, 0.3), 'credit');
    // 60.1 s after construction but only 50.1 s after that admission: still no hatch.
    const early = T0 + BACKGROUND_STARVE_WINDOW_MS + 100;
    drain(b, 100, FG, early);
    assert.equal(b.admit(50, BG, early, 0.3), null);
    const late = admittedAt + BACKGROUND_STARVE_WINDOW_MS + 100;
    drain(b, 100, FG, late);
    assert.equal(b.admit(50, BG, late, 0.3), 'hatch');
  });

  it('the first Background request meets the gate, not the hatch', () => {
    const b = budget(1000, T0);
    b.admit(1000, FG, T0);
    assert.equal(b.admit(10, BG, T0 + 1), null);
  });
});

describe('BandwidthBudget: Realtime', () => {
  it('goes into debt up to half the capacity, then is denied', () => {
    const b = budget(1000);
    assert.equal(b.admit(1000, FG, T0), 'credit');
    assert.equal(b.admit(1, FG, T0), null, 'Foreground is out');
    assert.equal(drain(b, 100, RT, T0), 1000 * REALTIME_DEBT_FRACTION_MAX);
    assert.equal(b.debtBytes, 500);
    assert.equal(b.admit(1, RT, T0), null);
    b.assertInvariants();
  });

  it('is paid from credit first and reports debt only when it borrows', () => {
    const b = budget(1000);
    assert.equal(b.admit(900, RT, T0), 'credit');
    assert.equal(b.admit(300, RT, T0), 'debt');
    assert.equal(b.debtBytes, 200);
  });

  it('debt delays Foreground until refill repays it', () => {
    const b = budget(1000);
    b.admit(1000, FG, T0);
    b.admit(500, RT, T0);
    assert.equal(b.admit(100, FG, T0 + 500), null, '500 ms only repays the debt');
    assert.equal(b.admit(100, FG, T0 + 600), 'credit');
  });

  it('is never denied where Foreground would be admitted (oversize included)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(FG, BG, RT),
            fc.integer({ min: 1, max: 3000 }),
            fc.nat({ max: 300 }),
          ),
        ),
        fc.integer({ min: 1, max: 3000 }),
        (history, cost) => {
          const a = budget(1000);
          const b = budget(1000);
          let now = T0;
          for (const [cls, c, dt] of history) {
            now += dt;
            a.admit(c, cls, now);
            b.admit(c, cls, now);
          }
          const foreground = a.admit(cost, FG, now);
          const realtime = b.admit(cost, RT, now);
          if (foreground !== null) assert.notEqual(realtime, null);
        },
      ),
    );
  });
});

describe('BandwidthBudget: refund and rescale', () => {
  it('pays debt first, then credits up to capacity', () => {
    const b = budget(1000);
    b.admit(1000, FG, T0);
    b.admit(400, RT, T0);
    assert.equal(b.debtBytes, 400);
    b.refund(300);
    assert.equal(b.debtBytes, 100);
    assert.equal(b.availableBytes, 0);
    b.refund(250);
    assert.equal(b.debtBytes, 0);
    assert.equal(b.availableBytes, 150);
    b.refund(10_000);
    assert.equal(b.availableBytes, 1000, 'capped at capacity');
    b.refund(-5);
    b.refund(Number.NaN);
    assert.equal(b.availableBytes, 1000);
  });

  it('refunding a failed send restores what it took', () => {
    const b = budget(1000);
    b.admit(700, FG, T0);
    b.refund(700);
    assert.equal(drain(b, 100, FG, T0), 1000);
  });

  it('rescaling keeps the fill proportion and restarts the starvation timer', () => {
    const b = budget(1000);
    b.admit(500, FG, T0);
    b.setNicPeak(2000, 1, T0);
    assert.equal(b.capacityBytes, 2000);
    assert.equal(b.availableBytes, 1000);
    const late = T0 + BACKGROUND_STARVE_WINDOW_MS * 2;
    drain(b, 100, FG, late);
    b.setNicPeak(2000, 1, late);
    assert.equal(b.admit(10, BG, late), null, 'no hatch right after a rescale');
    b.assertInvariants();
  });

  it('property: random traffic keeps the invariants', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.tuple(
              fc.constant('admit' as const),
              fc.constantFrom(FG, BG, RT),
              fc.integer({ min: 0, max: 2500 }),
              fc.nat({ max: 70_000 }),
            ),
            fc.tuple(
              fc.constant('refund' as const),
              fc.constant(FG),
              fc.integer({ min: 0, max: 2500 }),
              fc.constant(0),
            ),
          ),
          { maxLength: 80 },
        ),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (ops, bgFraction) => {
          const b = budget(1000);
          let now = T0;
          for (const [op, cls, n, dt] of ops) {
            now += dt;
            if (op === 'admit') b.admit(n, cls, now, bgFraction);
            else b.refund(n);
            b.assertInvariants();
          }
        },
      ),
    );
  });
});
