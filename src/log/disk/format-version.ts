// Telling a file of another format version from a corrupt one. Every file of a channel starts
// with its 8-byte magic and a u32 format version, in every version (docs/STORAGE.md): when the
// magic is ours and the version is not, the file is refused as FORMAT_VERSION, whatever else
// about it this build cannot read, instead of being called corrupt.

import { CorruptError, FormatVersionError, type RedexError } from '../errors.js';
import { asciiDecoder, FORMAT_VERSION, view } from './format.js';

/** Versions above this are taken for a damaged version field rather than a real release. */
export const FORMAT_VERSION_PLAUSIBLE_MAX = 0xffff;

/** The format version `bytes` say they are written in, or null if they are not one of ours. */
export function fileFormatVersion(bytes: Uint8Array, magic: string): number | null {
  if (bytes.byteLength < 12 || asciiDecoder.decode(bytes.subarray(0, 8)) !== magic) return null;
  const version = view(bytes).getUint32(8, true);
  return version >= 1 && version <= FORMAT_VERSION_PLAUSIBLE_MAX ? version : null;
}

/** The error for a file that did not decode (`reason` says why). */
export function decodeFailure(
  path: string,
  bytes: Uint8Array,
  magic: string,
  reason: string,
  buildVersion: number = FORMAT_VERSION,
): RedexError {
  const version = fileFormatVersion(bytes, magic);
  if (version !== null && version !== buildVersion) {
    return new FormatVersionError(path, version, buildVersion);
  }
  return new CorruptError(path, reason);
}
