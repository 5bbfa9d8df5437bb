// Channels created over the HTTP API, remembered in `<dataDir>/channels.json` so a restarted node
// opens them again (channels from the config file are opened from the config). The file is
// replaced atomically: write a temporary file, fsync it, rename it over the old one, fsync the
// directory. A file that does not parse is refused (CORRUPT) rather than silently forgotten.

import { open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CorruptError, IoError } from '../log/errors.js';
import { type ChannelSpec, parseChannelSpec, stripPrefix } from './channel-spec.js';
import { checkArray, checkObject } from './validate.js';

export const REGISTRY_FILE = 'channels.json';
/** Channels created over the API that a node remembers. */
export const REGISTRY_CHANNELS_MAX = 65_536;
const REGISTRY_VERSION = 1;

export class ChannelRegistry {
  readonly path: string;
  readonly #specs = new Map<string, ChannelSpec>();
  /** Writes are chained so two creates never race on the temporary file. */
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string) {
    this.path = path;
  }

  /** Loads `<dataDir>/channels.json` (an absent file is an empty registry). */
  static async open(
    dataDir: string,
    defaults: { defaultPersistent: boolean; members: ReadonlySet<string> },
  ): Promise<ChannelRegistry> {
    const registry = new ChannelRegistry(join(dataDir, REGISTRY_FILE));
    let text: string;
    try {
      text = await readFile(registry.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return registry;
      throw new IoError(`reading ${registry.path} failed`, error);
    }
    try {
      const root = checkObject({ source: 'channel registry' }, '(file)', JSON.parse(text));
      if (root.version !== REGISTRY_VERSION)
        throw new Error(`unknown version ${String(root.version)}`);
      const entries = checkArray(
        { source: 'channel registry' },
        'channels',
        root.channels,
        REGISTRY_CHANNELS_MAX,
      );
      entries.forEach((entry, index) => {
        const spec = parseChannelSpec(entry, {
          source: 'channel registry',
          prefix: `channels[${index}]`,
          ...defaults,
        });
        registry.#specs.set(spec.name, spec);
      });
    } catch (error) {
      throw new CorruptError(registry.path, stripPrefix(error));
    }
    return registry;
  }

  get specs(): ChannelSpec[] {
    return [...this.#specs.values()];
  }

  has(name: string): boolean {
    return this.#specs.has(name);
  }

  /** Remembers `spec` durably; resolves once the file is replaced and fsynced. */
  add(spec: ChannelSpec): Promise<void> {
    if (this.#specs.size >= REGISTRY_CHANNELS_MAX && !this.#specs.has(spec.name)) {
      return Promise.reject(
        new IoError(
          `remembering channel ${JSON.stringify(spec.name)} failed`,
          `the registry holds ${REGISTRY_CHANNELS_MAX} channels`,
        ),
      );
    }
    this.#specs.set(spec.name, spec);
    const write = this.#writing.then(() => this.#write());
    // A failed write must not wedge the chain for the next caller.
    this.#writing = write.catch(() => {});
    return write;
  }

  /** Forgets `name` durably; resolves once the file is replaced (at once when it was not there). */
  remove(name: string): Promise<void> {
    const spec = this.#specs.get(name);
    if (spec === undefined) return Promise.resolve();
    this.#specs.delete(name);
    const write = this.#writing.then(() => this.#write());
    this.#writing = write.catch(() => {});
    // Not forgotten on disk means not forgotten: the caller keeps the channel.
    return write.catch((error: unknown) => {
      if (!this.#specs.has(name)) this.#specs.set(name, spec);
      throw error;
    });
  }

  async #write(): Promise<void> {
    const body = JSON.stringify(
      { version: REGISTRY_VERSION, channels: this.specs.map(toJson) },
      null,
      2,
    );
    const temporary = `${this.path}.tmp`;
    try {
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(`${body}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
      const dir = await open(dirname(this.path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      throw new IoError(`writing ${this.path} failed`, error);
    }
  }
}

function toJson(spec: ChannelSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { name: spec.name, file: spec.file };
  if (spec.replication !== null) out.replication = spec.replication;
  return out;
}
