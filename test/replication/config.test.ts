import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_REPLICATION_CONFIG,
  HEARTBEAT_MS_MAX,
  HEARTBEAT_MS_MIN,
  MISS_THRESHOLD,
  RedexError,
  RedexErrorCode,
  ReplicationConfigError,
  type ReplicationConfigInput,
  replicationConfigEquals,
  resolveReplicationConfig,
  SyncClass,
  silenceMsOf,
  syncClassOf,
} from './imports.js';

function rejects(input: unknown, field: string, pattern?: RegExp, options = {}): void {
  assert.throws(
    () => resolveReplicationConfig(input as ReplicationConfigInput, options),
    (error: unknown) => {
      assert.ok(error instanceof ReplicationConfigError, String(error));
      assert.ok(error instanceof RedexError);
      assert.equal(error.code, RedexErrorCode.Config);
      assert.equal(error.field, field);
      assert.ok(error.message.startsWith(`redex: replication config: ${field} `), error.message);
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('replication config', () => {
  it('has the documented defaults', () => {
    const config = resolveReplicationConfig();
    assert.deepEqual(config, {
      factor: 3,
      placement: 'standard',
      heartbeatMs: 500,
      onUnderCapacity: 'withdraw',
      budgetFraction: 0.5,
      defaultClass: 'foreground',
      backgroundFraction: 0.3,
    });
    assert.deepEqual(resolveReplicationConfig({}), DEFAULT_REPLICATION_CONFIG);
    assert.ok(Object.isFrozen(config));
  });

  it('factor: 1..16 integers', () => {
    assert.equal(resolveReplicationConfig({ factor: 1 }).factor, 1);
    assert.equal(resolveReplicationConfig({ factor: 16 }).factor, 16);
    for (const bad of [0, 17, 2.5, Number.NaN, -1]) rejects({ factor: bad }, 'factor', /1\.\.16/);
    rejects({ factor: '3' }, 'factor');
  });

  it('placement: standard or 1..16 unique non-zero NodeIds', () => {
    assert.equal(resolveReplicationConfig({ placement: 'standard' }).placement, 'standard');
    const pinned = resolveReplicationConfig({ placement: { pinned: [3n, 1n, 2n] } }).placement;
    assert.deepEqual(pinned, { pinned: [3n, 1n, 2n] });
    assert.ok(typeof pinned === 'object' && Object.isFrozen(pinned.pinned));
    const sixteen = Array.from({ length: 16 }, (_, i) => BigInt(i + 1));
    assert.equal(
      resolveReplicationConfig({ placement: { pinned: sixteen } }).placement !== 'standard',
      true,
    );
    rejects({ placement: 'random' }, 'placement');
    rejects({ placement: null }, 'placement');
    rejects({ placement: { pinned: [] } }, 'placement.pinned', /1\.\.16/);
    rejects({ placement: { pinned: [...sixteen, 17n] } }, 'placement.pinned', /got 17/);
    rejects({ placement: { pinned: [1n, 0n] } }, 'placement.pinned', /other than 0/);
    rejects({ placement: { pinned: [1n, 2n, 1n] } }, 'placement.pinned', /twice/);
    rejects({ placement: { pinned: [1] } }, 'placement.pinned', /bigint/);
    rejects({ placement: { pinned: [1n << 64n] } }, 'placement.pinned');
    rejects({ placement: { pinned: 'abc' } }, 'placement.pinned');
  });

  it('placement copies the pinned list', () => {
    const list = [1n, 2n];
    const config = resolveReplicationConfig({ placement: { pinned: list } });
    list.push(3n);
    assert.deepEqual(config.placement, { pinned: [1n, 2n] });
  });

  it('heartbeatMs: 100..300000, with a test-only lower floor', () => {
    assert.equal(resolveReplicationConfig({ heartbeatMs: HEARTBEAT_MS_MIN }).heartbeatMs, 100);
    assert.equal(resolveReplicationConfig({ heartbeatMs: HEARTBEAT_MS_MAX }).heartbeatMs, 300_000);
    rejects({ heartbeatMs: 99 }, 'heartbeatMs', /100\.\.300000/);
    rejects({ heartbeatMs: 300_001 }, 'heartbeatMs');
    rejects({ heartbeatMs: 150.5 }, 'heartbeatMs');
    const fast = resolveReplicationConfig({ heartbeatMs: 5 }, { testOnlyHeartbeatMsMin: 5 });
    assert.equal(fast.heartbeatMs, 5);
    rejects({ heartbeatMs: 4 }, 'heartbeatMs', /5\.\.300000/, { testOnlyHeartbeatMsMin: 5 });
    rejects({}, 'testOnlyHeartbeatMsMin', undefined, { testOnlyHeartbeatMsMin: 0 });
    rejects({}, 'testOnlyHeartbeatMsMin', undefined, { testOnlyHeartbeatMsMin: 101 });
  });

  // The resolver is the one validator of the heartbeat period: the runtime and the tracker trust
  // the resolved config, so a zero, negative or non-finite period must stop here.
  it('rejects a heartbeat period that is not a positive finite integer, even with the test floor', () => {
    for (const heartbeatMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      rejects({ heartbeatMs }, 'heartbeatMs');
      rejects({ heartbeatMs }, 'heartbeatMs', undefined, { testOnlyHeartbeatMsMin: 1 });
    }
  });

  it('owns the silence window: MISS_THRESHOLD heartbeat periods', () => {
    assert.equal(MISS_THRESHOLD, 3);
    assert.equal(silenceMsOf(resolveReplicationConfig({ heartbeatMs: 500 })), 1500);
    assert.equal(
      silenceMsOf(DEFAULT_REPLICATION_CONFIG),
      DEFAULT_REPLICATION_CONFIG.heartbeatMs * 3,
    );
  });

  it('onUnderCapacity: withdraw or evictOldest', () => {
    assert.equal(
      resolveReplicationConfig({ onUnderCapacity: 'evictOldest' }).onUnderCapacity,
      'evictOldest',
    );
    rejects({ onUnderCapacity: 'panic' }, 'onUnderCapacity', /'withdraw', 'evictOldest'/);
  });

  it('budgetFraction: finite, (0, 1]', () => {
    assert.equal(resolveReplicationConfig({ budgetFraction: 1 }).budgetFraction, 1);
    assert.equal(resolveReplicationConfig({ budgetFraction: 1e-9 }).budgetFraction, 1e-9);
    for (const bad of [0, -0.1, 1.0001, Number.NaN, Number.POSITIVE_INFINITY]) {
      rejects({ budgetFraction: bad }, 'budgetFraction', /\(0, 1\]/);
    }
  });

  it('defaultClass: foreground, background or realtime', () => {
    for (const name of ['foreground', 'background', 'realtime'] as const) {
      assert.equal(resolveReplicationConfig({ defaultClass: name }).defaultClass, name);
    }
    rejects({ defaultClass: 'Foreground' }, 'defaultClass');
    assert.equal(syncClassOf('foreground'), SyncClass.Foreground);
    assert.equal(syncClassOf('background'), SyncClass.Background);
    assert.equal(syncClassOf('realtime'), SyncClass.Realtime);
  });

  it('backgroundFraction: finite, [0, 1)', () => {
    assert.equal(resolveReplicationConfig({ backgroundFraction: 0 }).backgroundFraction, 0);
    assert.equal(resolveReplicationConfig({ backgroundFraction: 0.999 }).backgroundFraction, 0.999);
    for (const bad of [1, -0.01, Number.NaN, Number.NEGATIVE_INFINITY]) {
      rejects({ backgroundFraction: bad }, 'backgroundFraction', /\[0, 1\)/);
    }
  });

  it('reports the first failure in table order', () => {
    const allBad = {
      factor: 0,
      placement: 'x',
      heartbeatMs: 1,
      onUnderCapacity: 'x',
      budgetFraction: 0,
      defaultClass: 'x',
      backgroundFraction: 1,
    };
    const order = Object.keys(allBad);
    let input: Record<string, unknown> = { ...allBad };
    for (const field of order) {
      rejects(input, field === 'placement' ? 'placement' : field);
      const { [field]: _, ...rest } = input;
      input = rest;
    }
    assert.doesNotThrow(() => resolveReplicationConfig(input as ReplicationConfigInput));
  });

  it('rejects unknown fields and non-objects', () => {
    rejects({ heartbeatMS: 500 }, 'heartbeatMS', /not a replication config field/);
    rejects(null, '(config)');
  });

  it('compares resolved configs structurally', () => {
    const a = resolveReplicationConfig({ placement: { pinned: [1n, 2n] } });
    const b = resolveReplicationConfig({ placement: { pinned: [1n, 2n] } });
    assert.ok(replicationConfigEquals(a, b));
    assert.ok(
      !replicationConfigEquals(a, resolveReplicationConfig({ placement: { pinned: [2n, 1n] } })),
    );
    assert.ok(!replicationConfigEquals(a, resolveReplicationConfig()));
    assert.ok(
      replicationConfigEquals(resolveReplicationConfig(), resolveReplicationConfig({ factor: 3 })),
    );
    assert.ok(
      !replicationConfigEquals(
        resolveReplicationConfig(),
        resolveReplicationConfig({ heartbeatMs: 600 }),
      ),
    );
    assert.ok(
      !replicationConfigEquals(
        resolveReplicationConfig(),
        resolveReplicationConfig({ backgroundFraction: 0.2 }),
      ),
    );
  });
});
