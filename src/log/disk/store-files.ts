// The files of a channel's store as a whole, apart from the log that runs on them: creating a new
// store, removing what an interrupted generation switch left behind, writing and committing the
// next generation, and deleting the store. Only names this code writes are ever touched.

import { join } from 'node:path';
import { CorruptError, IoError } from '../errors.js';
import {
  FILE_HEADER_BYTES,
  MANIFEST_NAME,
  MANIFEST_TEMP_NAME,
  type Manifest,
  parseGenerationFileName,
} from './format.js';
import type { FileSystem } from './fs.js';
import {
  commitManifest,
  createGeneration,
  type Generation,
  readWholeFile,
  stageManifest,
  writeManifest,
} from './generation.js';
import { isQuorumStateFileName } from './quorum-state.js';

/** A new store, or one whose creation was interrupted before its manifest was written. */
export async function initializeStore(
  fs: FileSystem,
  dir: string,
  names: string[],
): Promise<Manifest> {
  for (const name of names) {
    const parsed = parseGenerationFileName(name);
    if (parsed?.kind !== 'dat') continue;
    const bytes = await readWholeFile(fs, join(dir, name));
    if (bytes.byteLength > FILE_HEADER_BYTES) {
      throw new CorruptError(
        join(dir, MANIFEST_NAME),
        `it is missing, but ${name} holds records; restore the manifest or move the files away`,
      );
    }
  }
  for (const name of names) {
    if (parseGenerationFileName(name) !== null || name === MANIFEST_TEMP_NAME)
      await fs.unlink(join(dir, name));
  }
  const manifest: Manifest = { generation: 1, baseSeq: 0, firstSeq: 0 };
  const generation = await createGeneration(fs, dir, manifest.generation, 0);
  try {
    await generation.data.sync();
    await generation.index.sync();
  } finally {
    await generation.close();
  }
  await writeManifest(fs, dir, manifest);
  return manifest;
}

/** Removes the leftovers of an interrupted generation switch, noting each in `repairs`. */
export async function removeSwitchLeftovers(
  fs: FileSystem,
  dir: string,
  names: string[],
  manifest: Manifest,
  repairs: string[],
): Promise<void> {
  for (const name of names) {
    const parsed = parseGenerationFileName(name);
    if (
      (parsed !== null && parsed.generation !== manifest.generation) ||
      name === MANIFEST_TEMP_NAME
    ) {
      await fs.unlink(join(dir, name));
      repairs.push(`removed ${name}, left by an interrupted generation switch`);
    }
  }
}

/**
 * Writes generation `number` with `fill`, makes it durable and points the manifest at it
 * (temp → fsync → rename). A failure leaves the old generation in force and removes the new files.
 */
export async function writeNextGeneration(
  fs: FileSystem,
  dir: string,
  channel: string,
  number: number,
  baseSeq: number,
  fill: (next: Generation) => Promise<void>,
): Promise<Generation> {
  const manifest: Manifest = { generation: number, baseSeq, firstSeq: baseSeq };
  let next: Generation | null = null;
  const tempPath = join(dir, MANIFEST_TEMP_NAME);
  try {
    next = await createGeneration(fs, dir, number, baseSeq);
    await fill(next);
    await next.data.sync();
    await next.index.sync();
    await stageManifest(fs, dir, manifest);
    await commitManifest(fs, dir);
  } catch (error) {
    if (next !== null) {
      await next.close();
      await Promise.allSettled([
        fs.unlink(next.dataPath),
        fs.unlink(next.indexPath),
        fs.unlink(tempPath),
      ]);
    }
    throw new IoError(
      `switching channel ${JSON.stringify(channel)} to a new generation failed; the previous one stays in force`,
      error,
    );
  }
  return next;
}

/** Deletes a channel's store (only the names this code writes) and the directories it leaves empty. */
export async function removeStore(
  fs: FileSystem,
  dir: string,
  parentDirs: readonly string[],
): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (
      name === MANIFEST_NAME ||
      name === MANIFEST_TEMP_NAME ||
      parseGenerationFileName(name) !== null ||
      isQuorumStateFileName(name)
    ) {
      await fs.unlink(join(dir, name));
    }
  }
  await fs.rmdirIfEmpty(dir);
  for (const parent of [...parentDirs].reverse()) await fs.rmdirIfEmpty(parent);
}
