// Files written by another on-disk format version are refused as FORMAT_VERSION ("written by a
// newer/older version of RedEX"), not as CORRUPT, and are left as they are.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FORMAT_VERSION, MANIFEST_MAGIC } from '../../../src/log/disk/format.js';
import { decodeFailure, fileFormatVersion } from '../../../src/log/disk/format-version.js';
import { nodeFileSystem } from '../../../src/log/disk/fs.js';
import { HISTORY_FILE_NAME, VOTE_FILE_NAME } from '../../../src/log/disk/quorum-format.js';
import { DiskQuorumState } from '../../../src/log/disk/quorum-state.js';
import { CorruptError, FormatVersionError, RedexErrorCode } from '../../../src/log/errors.js';
import { Redex } from '../../../src/log/redex.js';
import { CHANNEL, openPersistent, storeDir, tempDir } from './helpers.js';

const NEWER = FORMAT_VERSION + 1;

/** A channel with events and both quorum files, closed. */
async function channelOnDisk(): Promise<string> {
  const dir = tempDir();
  const { redex, file } = await openPersistent(dir);
  await file.appendBatch([new Uint8Array([1]), new Uint8Array([2, 3])]);
  await file.quorumState.load(file.nextSeq);
  await file.quorumState.saveVote(3, 7n);
  await file.quorumState.appendEpoch(3, 0);
  await redex.close();
  return dir;
}

function setVersion(path: string, version: number): Buffer {
  const bytes = readFileSync(path);
  bytes.writeUInt32LE(version, 8);
  writeFileSync(path, bytes);
  return bytes;
}

describe('format version', () => {
  for (const name of ['MANIFEST', '0000000001.dat', '0000000001.idx']) {
    test(`${name} of a newer format is FORMAT_VERSION naming the file and both versions`, async () => {
      const dir = await channelOnDisk();
      const path = join(storeDir(dir), name);
      const before = setVersion(path, NEWER);
      await assert.rejects(
        new Redex({ dir }).openFile(CHANNEL, { persistent: true }),
        (error: FormatVersionError) => {
          assert.ok(error instanceof FormatVersionError, String(error));
          assert.equal(error.code, RedexErrorCode.FormatVersion);
          assert.equal(error.path, path);
          assert.equal(error.fileVersion, NEWER);
          assert.equal(error.buildVersion, FORMAT_VERSION);
          assert.match(
            error.message,
            new RegExp(
              `written by a newer version of RedEX \\(format ${NEWER}, this build reads ${FORMAT_VERSION}\\)`,
            ),
          );
          return true;
        },
      );
      assert.deepEqual(readFileSync(path), before, 'the file is left as it was');
    });
  }

  for (const name of [VOTE_FILE_NAME, HISTORY_FILE_NAME]) {
    test(`${name} of a newer format is FORMAT_VERSION`, async () => {
      const dir = await channelOnDisk();
      const path = join(storeDir(dir), name);
      setVersion(path, NEWER);
      await assert.rejects(
        new DiskQuorumState(nodeFileSystem, storeDir(dir)).load(100),
        (error: FormatVersionError) => {
          assert.ok(error instanceof FormatVersionError, String(error));
          assert.equal(error.path, path);
          assert.match(error.message, /written by a newer version of RedEX/);
          return true;
        },
      );
    });
  }

  test('a file of an older format than the build reads is reported as older', async () => {
    const dir = await channelOnDisk();
    const path = join(storeDir(dir), 'MANIFEST');
    const bytes = readFileSync(path);
    // This build writes version 1; a later build that reads version 3 meets this file.
    const error = decodeFailure(path, bytes, MANIFEST_MAGIC, 'unused', 3);
    assert.ok(error instanceof FormatVersionError);
    assert.equal(error.code, RedexErrorCode.FormatVersion);
    assert.match(
      error.message,
      /written by an older version of RedEX \(format 1, this build reads 3\)/,
    );
  });

  test('a damaged version field or a foreign file stays CORRUPT', async () => {
    const dir = await channelOnDisk();
    const path = join(storeDir(dir), 'MANIFEST');
    setVersion(path, 0x0100_0001);
    await assert.rejects(
      new Redex({ dir }).openFile(CHANNEL, { persistent: true }),
      (error: CorruptError) => error instanceof CorruptError && error.path === path,
    );
    assert.equal(fileFormatVersion(Buffer.from('RDXMANI1\0\0\0\0'), MANIFEST_MAGIC), null);
    assert.equal(fileFormatVersion(Buffer.from('somebody else'), MANIFEST_MAGIC), null);
    assert.equal(
      decodeFailure(path, Buffer.from('short'), MANIFEST_MAGIC, 'too short').code,
      RedexErrorCode.Corrupt,
    );
  });

  test('a file of this format that fails its checksum is CORRUPT, not FORMAT_VERSION', async () => {
    const dir = await channelOnDisk();
    const path = join(storeDir(dir), VOTE_FILE_NAME);
    const bytes = readFileSync(path);
    bytes[20] = (bytes[20] ?? 0) ^ 0xff;
    writeFileSync(path, bytes);
    await assert.rejects(
      new DiskQuorumState(nodeFileSystem, storeDir(dir)).load(100),
      (error: CorruptError) => error instanceof CorruptError && error.code === 'CORRUPT',
    );
  });
});
