// The files of a channel's store as a whole, apart from the log that runs on them: creating a new
// store (without an fsync: see CREATION_MANIFEST) and making it durable later, removing what an
// interrupted generation switch left behind, writing and committing the
// next generation, and deleting the store. Only names this code writes are ever touched.

import { join } from 'node:path';
import { CorruptError, IoError } from '../errors.js';
import {
  DATA_MAGIC,
  encodeManifest,
  FILE_HEADER_BYTES,
  MANIFEST_BYTES,
  MANIFEST_NAME,
  MANIFEST_TEMP_NAME,
  type Manifest,
  parseGenerationFileName,
} from './format.js';
import type { FileSystem, FsFile } from './fs.js';
import {
  CREATION_MANIFEST,
  commitManifest,
  createGeneration,
  creationHeader,
  type Generation,
  isBlank,
  isTornCopy,
  parseManifest,
  readWholeFile,
  stageManifest,
  writeManifest,
} from './generation.js';
import { isQuorumStateFileName } from './quorum-state.js';
import { settleAll } from './settle.js';

/** The store's manifest, or what stands in its place: no file, or a blank one (see CREATION_MANIFEST). */
export async function findManifest(
  fs: FileSystem,
  dir: string,
  names: string[],
): Promise<Manifest | 'missing' | 'blank'> {
  if (!names.includes(MANIFEST_NAME)) return 'missing';
  const path = join(dir, MANIFEST_NAME);
  const bytes = await readWholeFile(fs, path);
  if (isBlank(bytes, MANIFEST_BYTES)) return 'blank';
  return parseManifest(path, bytes);
}

export interface InitializedStore {
  readonly manifest: Manifest;
  /** The files of a store created here (not yet durable); null when an existing one was kept. */
  readonly created: Generation | null;
}

/**
 * A store without a manifest (a new one, or a creation cut short), or with a blank one. A blank
 * manifest next to generation 1 from seq 0 is the creation manifest that never reached the disk:
 * it is written again and the data kept. Otherwise data with records is refused rather than
 * overwritten; without records the store is created afresh: the manifest, then the generation's
 * files, written but not fsynced (the caller makes the directories durable; the files are made
 * durable by the store's first fsync, `makeStoreDurable`).
 */
export async function initializeStore(
  fs: FileSystem,
  dir: string,
  names: string[],
  found: 'missing' | 'blank',
  repairs: string[],
): Promise<InitializedStore> {
  const generationFiles = names.filter((name) => parseGenerationFileName(name) !== null);
  for (const name of generationFiles) {
    if (parseGenerationFileName(name)?.kind !== 'dat') continue;
    const bytes = await readWholeFile(fs, join(dir, name));
    if (bytes.byteLength <= FILE_HEADER_BYTES) continue;
    const headerBytes = bytes.subarray(0, FILE_HEADER_BYTES);
    // The data file's header is written with the creation manifest and, like it, not fsynced until
    // the store's first fsync: a crash can lose or tear it while later record writes reached the
    // disk. What is left of the creation header belongs to the same creation (the generation's
    // open rebuilds it).
    const onlyCreationGeneration =
      found === 'blank' &&
      isTornCopy(headerBytes, creationHeader(DATA_MAGIC)) &&
      generationFiles.every(
        (other) => parseGenerationFileName(other)?.generation === CREATION_MANIFEST.generation,
      );
    if (onlyCreationGeneration) {
      await writeManifest(fs, dir, CREATION_MANIFEST);
      repairs.push(
        'rewrote the blank MANIFEST of a new channel (its creation was not yet durable)',
      );
      return { manifest: CREATION_MANIFEST, created: null };
    }
    throw new CorruptError(
      join(dir, MANIFEST_NAME),
      `it is ${found}, but ${name} holds records; restore the manifest or move the files away`,
    );
  }
  for (const name of names) {
    if (parseGenerationFileName(name) !== null || name === MANIFEST_TEMP_NAME)
      await fs.unlink(join(dir, name));
  }
  // The manifest first: on a journaling file system its entry then reaches the disk no later
  // than the data file's, so the data file is never found without it.
  const manifestFile = await fs.open(join(dir, MANIFEST_NAME), 'create');
  try {
    if (found === 'blank') await manifestFile.truncate(0);
    await manifestFile.write(encodeManifest(CREATION_MANIFEST), 0);
  } finally {
    await manifestFile.close();
  }
  // Any files of ours were removed above: the names are free.
  const created = await createGeneration(fs, dir, CREATION_MANIFEST.generation, 0, false);
  return { manifest: CREATION_MANIFEST, created };
}

/**
 * The first fsync of a store created without one: its manifest, the generation's `files` (those
 * the caller is not fsyncing at the same time) and the entries of its directory, all at once.
 * Runs with the first fsync of data, which is acknowledged only after both, so nothing durable
 * ever sits in a store whose manifest might not be.
 */
export async function makeStoreDurable(
  fs: FileSystem,
  dir: string,
  files: readonly FsFile[],
  syncDir: (path: string) => Promise<void>,
): Promise<void> {
  const syncManifest = async (): Promise<void> => {
    const file = await fs.open(join(dir, MANIFEST_NAME), 'readwrite');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
  };
  await settleAll([syncManifest(), ...files.map((file) => file.sync()), syncDir(dir)]);
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
