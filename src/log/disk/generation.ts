// A generation is one data file and one index file; the manifest names the current one. Creating
// a generation and switching the manifest to it follows write temp → fsync → rename → fsync dir,
// so a crash leaves either the old generation or the new one in force, never a mix.

import { join } from 'node:path';
import { CorruptError } from '../errors.js';
import {
  DATA_MAGIC,
  decodeFileHeader,
  decodeManifest,
  encodeFileHeader,
  encodeManifest,
  FILE_HEADER_BYTES,
  generationFileName,
  INDEX_MAGIC,
  MANIFEST_MAGIC,
  MANIFEST_NAME,
  MANIFEST_TEMP_NAME,
  type Manifest,
} from './format.js';
import { decodeFailure } from './format-version.js';
import type { FileSystem, FsFile } from './fs.js';
import { LazyFile } from './lazy-file.js';
import { settleAll } from './settle.js';

/**
 * The files of one generation, their descriptors held while in use (see LazyFile). Reads in flight
 * keep it open after it is retired.
 */
export class Generation {
  readonly number: number;
  readonly baseSeq: number;
  readonly data: LazyFile;
  readonly index: LazyFile;
  readonly dataPath: string;
  readonly indexPath: string;
  #readers = 0;
  #retired = false;
  #closed: Promise<void> | null = null;

  constructor(
    fs: FileSystem,
    dir: string,
    number: number,
    baseSeq: number,
    data: FsFile,
    index: FsFile,
  ) {
    this.number = number;
    this.baseSeq = baseSeq;
    this.dataPath = join(dir, generationFileName(number, 'dat'));
    this.indexPath = join(dir, generationFileName(number, 'idx'));
    this.data = new LazyFile(fs, this.dataPath, data);
    this.index = new LazyFile(fs, this.indexPath, index);
  }

  /** Gives back both descriptors while the channel is idle; the next use opens them again. */
  release(): Promise<void> {
    return settleAll([this.data.release(), this.index.release()]);
  }

  /** Runs a read against this generation's files, keeping them open until it finishes. */
  async read<T>(body: (generation: Generation) => Promise<T>): Promise<T> {
    this.#readers++;
    try {
      return await body(this);
    } finally {
      this.#readers--;
      if (this.#retired && this.#readers === 0) void this.close().catch(() => {});
    }
  }

  /** Closes the files once no read uses them. */
  retire(): Promise<void> {
    this.#retired = true;
    return this.#readers === 0 ? this.close() : Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed ??= Promise.allSettled([this.data.close(), this.index.close()]).then(() => {});
    return this.#closed;
  }
}

export async function readWholeFile(fs: FileSystem, path: string): Promise<Uint8Array> {
  const file = await fs.open(path, 'read');
  try {
    const bytes = new Uint8Array(await file.size());
    const read = await file.read(bytes, 0);
    return bytes.subarray(0, read);
  } finally {
    await file.close();
  }
}

/**
 * The manifest a new store starts with. It is the only manifest written without an fsync: until
 * the store's first fsync (`makeStoreDurable`) its files may not survive a crash, and recovery
 * treats a blank manifest or blank generation files as that creation interrupted.
 */
export const CREATION_MANIFEST: Manifest = { generation: 1, baseSeq: 0, firstSeq: 0 };

/** The header a file of the creation generation starts with (`magic`: data or index). */
export function creationHeader(magic: string): Uint8Array {
  return encodeFileHeader({
    magic,
    generation: CREATION_MANIFEST.generation,
    baseSeq: CREATION_MANIFEST.baseSeq,
  });
}

export function isCreationManifest(manifest: Manifest): boolean {
  return (
    manifest.generation === CREATION_MANIFEST.generation &&
    manifest.baseSeq === CREATION_MANIFEST.baseSeq &&
    manifest.firstSeq === CREATION_MANIFEST.firstSeq
  );
}

/** Bytes a write never reached (a crash before writeback): shorter than `size`, or all zeros. */
export function isBlank(bytes: Uint8Array, size: number): boolean {
  return bytes.byteLength < size || bytes.every((byte) => byte === 0);
}

/**
 * `bytes` is what a crash can leave of a write of `expected` that was never fsynced: its first
 * bytes as written, then zeros or nothing (a torn or lost write); all zeros included.
 */
export function isTornCopy(bytes: Uint8Array, expected: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.byteLength && at < expected.byteLength && bytes[at] === expected[at]) at++;
  for (let rest = at; rest < bytes.byteLength; rest++) if (bytes[rest] !== 0) return false;
  return bytes.byteLength <= expected.byteLength || at >= expected.byteLength;
}

function isWhole(bytes: Uint8Array, expected: Uint8Array): boolean {
  return bytes.byteLength === expected.byteLength && bytes.every((byte, i) => byte === expected[i]);
}

export async function readManifest(fs: FileSystem, dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_NAME);
  return parseManifest(path, await readWholeFile(fs, path));
}

export function parseManifest(path: string, bytes: Uint8Array): Manifest {
  const decoded = decodeManifest(bytes);
  if (typeof decoded === 'string') throw decodeFailure(path, bytes, MANIFEST_MAGIC, decoded);
  return decoded;
}

/** Writes `manifest` to the temporary manifest file and fsyncs it (step one of a switch). */
export async function stageManifest(
  fs: FileSystem,
  dir: string,
  manifest: Manifest,
): Promise<void> {
  const temp = await fs.open(join(dir, MANIFEST_TEMP_NAME), 'create');
  try {
    await temp.truncate(0);
    await temp.write(encodeManifest(manifest), 0);
    await temp.sync();
  } finally {
    await temp.close();
  }
}

/** Renames the staged manifest over the current one: the atomic moment of a switch. */
export function commitManifest(fs: FileSystem, dir: string): Promise<void> {
  return fs.rename(join(dir, MANIFEST_TEMP_NAME), join(dir, MANIFEST_NAME));
}

/** Durably replaces the manifest: stage, rename, fsync the directory. */
export async function writeManifest(
  fs: FileSystem,
  dir: string,
  manifest: Manifest,
): Promise<void> {
  await stageManifest(fs, dir, manifest);
  await commitManifest(fs, dir);
  await fs.syncDir(dir);
}

/**
 * Creates the files of a new generation with their headers (not yet in force: no manifest points
 * at them). `mayExist: false` when the caller knows the names are free (no truncate needed).
 */
export async function createGeneration(
  fs: FileSystem,
  dir: string,
  number: number,
  baseSeq: number,
  mayExist = true,
): Promise<Generation> {
  const dataPath = join(dir, generationFileName(number, 'dat'));
  const indexPath = join(dir, generationFileName(number, 'idx'));
  const data = await fs.open(dataPath, 'create');
  let index: FsFile | null = null;
  try {
    index = await fs.open(indexPath, 'create');
    if (mayExist) await settleAll([data.truncate(0), index.truncate(0)]);
    await data.write(encodeFileHeader({ magic: DATA_MAGIC, generation: number, baseSeq }), 0);
    await index.write(encodeFileHeader({ magic: INDEX_MAGIC, generation: number, baseSeq }), 0);
    return new Generation(fs, dir, number, baseSeq, data, index);
  } catch (error) {
    await Promise.allSettled([data.close(), index?.close()]);
    throw error;
  }
}

/**
 * Opens the generation the manifest names, checking both headers against it. Under the creation
 * manifest a missing or blank file is a creation whose files never reached the disk (nothing in
 * them was ever fsynced, so nothing was promised): it gets its header again, noted in `repairs`.
 */
export async function openGeneration(
  fs: FileSystem,
  dir: string,
  manifest: Manifest,
  repairs: string[] = [],
): Promise<Generation> {
  const files: FsFile[] = [];
  const rebuildBlank = isCreationManifest(manifest);
  try {
    for (const [kind, magic] of [
      ['dat', DATA_MAGIC],
      ['idx', INDEX_MAGIC],
    ] as const) {
      const name = generationFileName(manifest.generation, kind);
      const path = join(dir, name);
      const exists = !rebuildBlank || (await fs.exists(path));
      const file = await fs.open(path, rebuildBlank ? 'create' : 'readwrite').catch((error) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw new CorruptError(path, 'the manifest names it but it does not exist');
      });
      files.push(file);
      const headerBytes = new Uint8Array(FILE_HEADER_BYTES);
      const read = await file.read(headerBytes, 0);
      const seen = headerBytes.subarray(0, read);
      const expected = rebuildBlank ? creationHeader(magic) : null;
      if (expected !== null && isTornCopy(seen, expected) && !isWhole(seen, expected)) {
        await file.truncate(0);
        await file.write(expected, 0);
        await file.sync();
        repairs.push(
          `${exists ? 'rewrote the blank' : 'recreated the missing'} ${name} of a new channel (its creation was not yet durable)`,
        );
        continue;
      }
      const header = decodeFileHeader(headerBytes.subarray(0, read), magic);
      if (typeof header === 'string')
        throw decodeFailure(path, headerBytes.subarray(0, read), magic, header);
      if (header.generation !== manifest.generation || header.baseSeq !== manifest.baseSeq) {
        throw new CorruptError(
          path,
          `its header says generation ${header.generation} base seq ${header.baseSeq}; the manifest says generation ${manifest.generation} base seq ${manifest.baseSeq}`,
        );
      }
    }
    return new Generation(fs, dir, manifest.generation, manifest.baseSeq, files[0]!, files[1]!);
  } catch (error) {
    await Promise.allSettled(files.map((file) => file.close()));
    throw error;
  }
}
