import { ChannelNameError } from './errors.js';

/** Longest channel name, in UTF-8 bytes (it becomes a path on disk). */
export const CHANNEL_NAME_BYTES_MAX = 255;

const ALLOWED = /^[a-z0-9\-_./]*$/;

/**
 * Checks a channel name against the rules of docs/DESIGN.md#the-local-log, in their order, and throws a
 * `ChannelNameError` naming the first rule broken.
 */
export function validateChannelName(name: unknown): asserts name is string {
  if (typeof name !== 'string') {
    throw new ChannelNameError(
      String(name),
      'empty',
      `a channel name must be a string, got ${typeof name}`,
    );
  }
  if (name.length === 0) throw new ChannelNameError(name, 'empty', 'it must not be empty');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > CHANNEL_NAME_BYTES_MAX) {
    throw new ChannelNameError(
      name.length > 64 ? `${name.slice(0, 64)}…` : name,
      'too-long',
      `it is ${bytes} bytes long; the limit is ${CHANNEL_NAME_BYTES_MAX} bytes`,
    );
  }
  if (name.startsWith('/') || name.endsWith('/')) {
    throw new ChannelNameError(
      name,
      'leading-or-trailing-slash',
      "it must not start or end with '/'",
    );
  }
  if (name.includes('//'))
    throw new ChannelNameError(name, 'double-slash', "it must not contain '//'");
  if (/[A-Z]/.test(name)) {
    throw new ChannelNameError(name, 'uppercase', 'it must not contain uppercase letters');
  }
  if (!ALLOWED.test(name)) {
    const bad = [...name].find((char) => !ALLOWED.test(char));
    throw new ChannelNameError(
      name,
      'invalid-character',
      `character ${JSON.stringify(bad)} is not allowed; use only a-z 0-9 - _ . /`,
    );
  }
  for (const segment of name.split('/')) {
    if (segment === '.' || segment === '..') {
      throw new ChannelNameError(name, 'dot-segment', `segment '${segment}' is not allowed`);
    }
  }
}
