// The quorum-state files of a persistent channel: layouts, reopen, torn and corrupt files, entries
// past the log dropped for good, and a crash (or power cut) at every step of every write leaving
// either the old state or the new one.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { FileSystem } from '../../../src/log/disk/fs.js';
import { nodeFileSystem } from '../../../src/log/disk/fs.js';
import { MemoryFileSystem } from '../../../src/log/disk/memory-fs.js';
import {
  HISTORY_FILE_NAME,
  HISTORY_RECORD_BYTES,
  VOTE_FILE_BYTES,
  VOTE_FILE_NAME,
} from '../../../src/log/disk/quorum-format.js';
import { DiskQuorumState } from '../../../src/log/disk/quorum-state.js';
import { CorruptError, IoError, RedexErrorCode } from '../../../src/log/errors.js';
import type { QuorumState } from '../../../src/log/quorum-state.js';
import { SeededRandom } from '../../../src/time/random.js';
import { FaultyFs } from './faulty-fs.js';
import { FAR, freshQuorumState, openPersistent, storeDir, tempDir } from './helpers.js';

async function reload(dir: string, nextSeq = FAR, fs: FileSystem = nodeFileSystem) {
  return new DiskQuorumState(fs, dir).load(nextSeq);
}

describe('quorum-state files', () => {
  test('round trip through a reopen of the channel, with the documented sizes', async () => {
    const dir = tempDir();
    const first = await openPersistent(dir);
    const store = first.file.quorumState;
    await store.load(first.file.nextSeq);
    await store.saveVote(7, 0xdead_beef_0000_0001n);
    await store.appendEpoch(5, 0);
    await store.appendEpoch(7, 0);
    await store.markCleanShutdown();
    await first.redex.close();
    const stored = storeDir(dir);
    assert.equal(readFileSync(join(stored, VOTE_FILE_NAME)).byteLength, VOTE_FILE_BYTES);
    assert.equal(readFileSync(join(stored, VOTE_FILE_NAME)).subarray(0, 8).toString(), 'RDXVOTE1');
    const history = readFileSync(join(stored, HISTORY_FILE_NAME));
    assert.equal(history.subarray(0, 8).toString(), 'RDXEPCH1');
    assert.equal(history.byteLength, 32 + 2 * HISTORY_RECORD_BYTES, 'append-only records');

    const second = await openPersistent(dir);
    assert.deepEqual(await second.file.quorumState.load(second.file.nextSeq + 1), {
      epoch: 7,
      votedFor: 0xdead_beef_0000_0001n,
      history: [{ epoch: 7, startSeq: 0 }],
      cleanShutdown: true,
    });
    await second.redex.close();
  });

  test('a log written before the quorum files existed loads as epoch 0, no vote, no history', async () => {
    const dir = tempDir();
    const first = await openPersistent(dir);
    for (let i = 0; i < 5; i++) await first.file.append(new Uint8Array([i]));
    await first.redex.close();
    const second = await openPersistent(dir);
    assert.deepEqual(await second.file.quorumState.load(second.file.nextSeq), {
      epoch: 0,
      votedFor: null,
      history: [],
      cleanShutdown: false,
    });
    assert.equal(await nodeFileSystem.exists(join(storeDir(dir), VOTE_FILE_NAME)), false);
    await second.redex.close();
  });

  test('closeAndUnlinkFile removes the quorum-state files with the log', async () => {
    const dir = tempDir();
    const { redex, file } = await openPersistent(dir);
    await file.quorumState.load(0);
    await file.quorumState.saveVote(1, 1n);
    await file.quorumState.appendEpoch(1, 0);
    await redex.closeAndUnlinkFile(file.name);
    assert.equal(await nodeFileSystem.exists(storeDir(dir)), false);
  });

  test('entries past the log are dropped for good at load, so later epochs can follow', async () => {
    const { dir, store } = await freshQuorumState();
    await store.appendEpoch(1, 0);
    await store.appendEpoch(2, 10);
    await store.appendEpoch(3, 20);
    // The log was cut to 15 and the process died before the history was.
    assert.deepEqual(
      (await reload(dir, 15)).history.map((entry) => entry.epoch),
      [1, 2],
    );
    const again = new DiskQuorumState(nodeFileSystem, dir);
    assert.equal((await again.load(FAR)).history.length, 2, 'the drop was written');
    await again.appendEpoch(4, 15);
    assert.deepEqual((await reload(dir)).history.at(-1), { epoch: 4, startSeq: 15 });
  });

  test('a torn last history record is cut, cut short or complete', async () => {
    for (const torn of [new Uint8Array(7), new Uint8Array(HISTORY_RECORD_BYTES).fill(0xab)]) {
      const { dir, store } = await freshQuorumState();
      await store.appendEpoch(1, 0);
      await store.appendEpoch(2, 4);
      const path = join(dir, HISTORY_FILE_NAME);
      const good = readFileSync(path);
      writeFileSync(path, Buffer.concat([good, torn]));
      const state = await reload(dir);
      assert.deepEqual(state.history, [
        { epoch: 1, startSeq: 0 },
        { epoch: 2, startSeq: 4 },
      ]);
      assert.equal(readFileSync(path).byteLength, good.byteLength, 'the torn bytes are gone');
    }
  });

  test('corrupt files are CorruptErrors naming the file, and nothing is reset', async () => {
    const cases: [string, (dir: string) => void][] = [
      [VOTE_FILE_NAME, (dir) => flip(join(dir, VOTE_FILE_NAME), 20)],
      [VOTE_FILE_NAME, (dir) => writeFileSync(join(dir, VOTE_FILE_NAME), 'not a vote file')],
      [HISTORY_FILE_NAME, (dir) => flip(join(dir, HISTORY_FILE_NAME), 3)],
      // A bad record that is not the last is corruption, not a torn tail.
      [HISTORY_FILE_NAME, (dir) => flip(join(dir, HISTORY_FILE_NAME), 32 + 5)],
      [
        HISTORY_FILE_NAME,
        (dir) => {
          // Records out of order (epoch 2 after epoch 3), each with a valid checksum.
          const bytes = readFileSync(join(dir, HISTORY_FILE_NAME));
          const first = bytes.subarray(32, 32 + HISTORY_RECORD_BYTES);
          const third = bytes.subarray(32 + 2 * HISTORY_RECORD_BYTES);
          writeFileSync(
            join(dir, HISTORY_FILE_NAME),
            Buffer.concat([bytes.subarray(0, 32), third, first]),
          );
        },
      ],
    ];
    for (const [name, damage] of cases) {
      const { dir, store } = await freshQuorumState();
      await store.saveVote(3, 9n);
      await store.appendEpoch(1, 0);
      await store.appendEpoch(2, 3);
      await store.appendEpoch(3, 6);
      damage(dir);
      const before = readFileSync(join(dir, name));
      await assert.rejects(reload(dir), (error: CorruptError) => {
        assert.ok(error instanceof CorruptError, String(error));
        assert.equal(error.code, RedexErrorCode.Corrupt);
        assert.equal(error.path, join(dir, name));
        return true;
      });
      assert.deepEqual(readFileSync(join(dir, name)), before, 'the file is left as it was');
    }
  });

  test('a failed write refuses later writes until the next load', async () => {
    const fs = new FaultyFs();
    const { store } = await freshQuorumState(fs);
    fs.arm(0, 'once');
    await assert.rejects(store.saveVote(1, 1n), (error: IoError) => error.readOnly);
    fs.disarm();
    await assert.rejects(store.appendEpoch(1, 0), (error: IoError) => error.readOnly);
    assert.equal((await store.load(FAR)).epoch, 0);
    await store.saveVote(1, 1n);
    assert.equal((await store.load(FAR)).votedFor, 1n);
  });
});

describe('the empty EPOCHS made with the first EPOCH', () => {
  test('the first epoch entry after a vote is one write and one fsync, no rename', async () => {
    const fs = new FaultyFs();
    const { dir, store } = await freshQuorumState(fs);
    await store.saveVote(1, 5n);
    assert.equal(readFileSync(join(dir, HISTORY_FILE_NAME)).byteLength, 0);
    const start = fs.ops.length;
    await store.appendEpoch(1, 0);
    const steps = fs.ops.slice(start).map((op) => op.split(' ')[0]);
    assert.ok(!steps.some((op) => op?.includes('rename') || op?.includes('syncDir')), `${steps}`);
    assert.equal(steps.filter((op) => op?.includes('sync')).length, 1, `${steps}`);
    assert.deepEqual((await reload(dir)).history, [{ epoch: 1, startSeq: 0 }]);
    assert.equal(
      readFileSync(join(dir, HISTORY_FILE_NAME)).byteLength,
      32 + HISTORY_RECORD_BYTES,
      'header and one record',
    );
  });

  test('an EPOCHS shorter than its header reads as no history, and the next append replaces it', async () => {
    for (const length of [0, 1, 31]) {
      const { dir, store } = await freshQuorumState();
      await store.saveVote(1, 5n);
      await store.appendEpoch(1, 0);
      // A first append cut short by a crash: a prefix of the header.
      const whole = readFileSync(join(dir, HISTORY_FILE_NAME));
      writeFileSync(join(dir, HISTORY_FILE_NAME), whole.subarray(0, length));
      const again = new DiskQuorumState(nodeFileSystem, dir);
      assert.deepEqual((await again.load(FAR)).history, [], `${length} bytes`);
      await again.appendEpoch(2, 0);
      assert.deepEqual((await reload(dir)).history, [{ epoch: 2, startSeq: 0 }], `${length} bytes`);
    }
  });

  test('an EPOCHS of only zeros (a first append whose data never landed) reads as no history', async () => {
    const { dir, store } = await freshQuorumState();
    await store.saveVote(1, 5n);
    await store.appendEpoch(1, 0);
    const length = readFileSync(join(dir, HISTORY_FILE_NAME)).byteLength;
    writeFileSync(join(dir, HISTORY_FILE_NAME), new Uint8Array(length));
    const again = new DiskQuorumState(nodeFileSystem, dir);
    assert.deepEqual((await again.load(FAR)).history, []);
    await again.appendEpoch(2, 0);
    assert.deepEqual((await reload(dir)).history, [{ epoch: 2, startSeq: 0 }]);
    // A header that is not all zeros is still corruption, not an empty history.
    const bytes = readFileSync(join(dir, HISTORY_FILE_NAME));
    bytes.fill(0, 1);
    writeFileSync(join(dir, HISTORY_FILE_NAME), bytes);
    await assert.rejects(new DiskQuorumState(nodeFileSystem, dir).load(FAR));
  });
});

function flip(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0xff;
  writeFileSync(path, bytes);
}

interface Scenario {
  readonly name: string;
  readonly setup: (store: DiskQuorumState) => Promise<void>;
  readonly action: (store: DiskQuorumState) => Promise<unknown>;
  /** The next seq of the log passed to the load after the crash. */
  readonly nextSeq?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'the first vote', setup: async () => {}, action: (store) => store.saveVote(2, 5n) },
  {
    name: 'a later vote',
    setup: (store) => store.saveVote(2, 5n),
    action: (store) => store.saveVote(3, null),
  },
  {
    name: 'a vote over slot 0 again (in place, the third write)',
    setup: async (store) => {
      await store.saveVote(2, 5n);
      await store.saveVote(3, 6n);
    },
    action: (store) => store.saveVote(4, 7n),
  },
  { name: 'the first epoch', setup: async () => {}, action: (store) => store.appendEpoch(1, 0) },
  {
    name: 'the first epoch after the first vote (in place, into the empty EPOCHS)',
    setup: (store) => store.saveVote(1, 5n),
    action: (store) => store.appendEpoch(1, 0),
  },
  {
    name: 'a later epoch',
    setup: (store) => store.appendEpoch(1, 0),
    action: (store) => store.appendEpoch(2, 8),
  },
  {
    name: 'a history truncation',
    setup: async (store) => {
      await store.appendEpoch(1, 0);
      await store.appendEpoch(2, 8);
    },
    action: (store) => store.truncateHistory(5),
  },
  {
    name: 'markOpen',
    setup: (store) => store.markCleanShutdown(),
    action: (store) => store.markOpen(),
  },
  {
    name: 'markCleanShutdown',
    setup: (store) => store.saveVote(4, 1n),
    action: (store) => store.markCleanShutdown(),
  },
  {
    name: 'a load that drops entries past the log',
    setup: async (store) => {
      await store.appendEpoch(1, 0);
      await store.appendEpoch(2, 8);
    },
    action: (store) => store.load(5),
    nextSeq: 5,
  },
];

describe('quorum-state writes interrupted at every step', () => {
  for (const scenario of SCENARIOS) {
    test(`${scenario.name}: a crash at each step leaves the old state or the new one`, async () => {
      const nextSeq = scenario.nextSeq ?? FAR;
      // A clean run: the operations of the action, and the states before and after it.
      const probe = new FaultyFs();
      const { dir: probeDir, store: probeStore } = await freshQuorumState(probe);
      await scenario.setup(probeStore);
      const before = await reload(probeDir, FAR);
      const start = probe.ops.length;
      await scenario.action(probeStore);
      const steps = probe.ops.slice(start);
      const after = await reload(probeDir, nextSeq);
      assert.ok(steps.length > 0, 'the action writes');
      const outcomes = new Set<string>();
      for (let step = 0; step < steps.length; step++) {
        const fs = new FaultyFs();
        const { dir, store } = await freshQuorumState(fs);
        await scenario.setup(store);
        fs.arm(step, 'crash');
        await assert.rejects(scenario.action(store), IoError);
        const state = await reload(dir, nextSeq);
        outcomes.add(match(state, before, after, nextSeq, `step ${step} (${steps[step]})`));
        // The store works again after the restart.
        const again = new DiskQuorumState(nodeFileSystem, dir);
        await again.load(nextSeq);
        await again.saveVote(10, 1n);
        assert.equal((await reload(dir, nextSeq)).epoch, 10);
      }
      assert.ok(outcomes.has('old'), `some crash leaves the old state (${steps.join(', ')})`);
      if (scenario.nextSeq === undefined)
        assert.ok(outcomes.has('new'), `some crash leaves the new state (${steps.join(', ')})`);
    });
  }

  test('power cuts during epoch appends and votes keep whole states (MemoryFileSystem)', async () => {
    const random = new SeededRandom(20261201);
    for (let round = 0; round < 40; round++) {
      const memory = new MemoryFileSystem();
      const fs = new FaultyFs(memory);
      const dir = '/data/q/@redex';
      const { store } = await freshQuorumState(fs, dir);
      await store.appendEpoch(1, 0);
      await store.saveVote(1, 2n);
      const before = await reload(dir, FAR, memory);
      fs.arm(random.nextInt(8), 'crash');
      const done = await Promise.all([store.appendEpoch(3, 4), store.saveVote(3, 4n)]).then(
        () => true,
        () => false,
      );
      memory.crash((_path, unsynced) => random.nextInt(unsynced + 1));
      const state = await reload(dir, FAR, memory);
      assert.ok(state.epoch === 1 || state.epoch === 3, `round ${round}`);
      assert.ok(state.history.length === 1 || state.history.length === 2, `round ${round}`);
      assert.deepEqual(state.history[0], before.history[0]);
      if (state.history.length === 2) assert.deepEqual(state.history[1], { epoch: 3, startSeq: 4 });
      if (done)
        assert.deepEqual(state, {
          ...before,
          epoch: 3,
          votedFor: 4n,
          history: [...before.history, { epoch: 3, startSeq: 4 }],
        });
    }
  });
});

/** 'old' or 'new'; fails when the state is neither. */
function match(
  state: QuorumState,
  before: QuorumState,
  after: QuorumState,
  nextSeq: number,
  what: string,
): string {
  const old = { ...before, history: before.history.filter((entry) => entry.startSeq < nextSeq) };
  if (sameState(state, old)) return 'old';
  if (sameState(state, after)) return 'new';
  assert.fail(`${what}: ${show(state)} is neither ${show(old)} nor ${show(after)}`);
}

function sameState(a: QuorumState, b: QuorumState): boolean {
  return show(a) === show(b);
}

function show(state: QuorumState): string {
  return JSON.stringify(state, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value));
}
