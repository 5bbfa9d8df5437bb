// Errors a caller of the mesh can get (misuse gets a typed error with a stable
// code). Bad bytes from a peer are never thrown at the caller: the transport drops them, counts them
// under a `DropReason` and, when the connection cannot continue, closes it.
//
// `MeshError` is a `RedexError`, so `code` is one of the project-wide codes (CONFIG, INVALID_ARGUMENT,
// IO, CLOSED); `reason` is the mesh's own finer, equally stable code.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';

export const MeshErrorReason = {
  /** A node name that is not a valid certificate/file name. */
  CertName: 'CERT_NAME',
  /** `initCa`/`issueNodeCert` would overwrite existing material. */
  CertExists: 'CERT_EXISTS',
  /** A certificate or key file is missing. */
  CertMissing: 'CERT_MISSING',
  /** PEM that does not parse, a key that is not Ed25519, a key that does not match its cert. */
  CertInvalid: 'CERT_INVALID',
  /** A transport/network option out of bounds. */
  Config: 'MESH_CONFIG',
  /** The transport was closed. */
  Closed: 'MESH_CLOSED',
  /** `send` got bytes the mesh does not carry (not a RedEX 0x0E00 message, or too large). */
  BadFrame: 'BAD_FRAME',
  /** A peer sent a length prefix above the frame limit; the connection is destroyed with this. */
  FrameTooLarge: 'FRAME_TOO_LARGE',
  /** No bytes from a peer for the idle timeout; the connection is destroyed with this. */
  IdleTimeout: 'IDLE_TIMEOUT',
  /** A TLS handshake that did not finish in time. */
  HandshakeTimeout: 'HANDSHAKE_TIMEOUT',
  /** Reading or writing certificate files failed. */
  Io: 'MESH_IO',
  /** The transport did not queue a frame (no connection, backpressure, closed); it counted why. */
  SendDropped: 'SEND_DROPPED',
} as const;
export type MeshErrorReason = (typeof MeshErrorReason)[keyof typeof MeshErrorReason];

function codeFor(reason: MeshErrorReason): RedexErrorCode {
  switch (reason) {
    case MeshErrorReason.Config:
      return RedexErrorCode.Config;
    case MeshErrorReason.Closed:
      return RedexErrorCode.Closed;
    case MeshErrorReason.Io:
    case MeshErrorReason.CertMissing:
    case MeshErrorReason.SendDropped:
      return RedexErrorCode.Io;
    default:
      return RedexErrorCode.InvalidArgument;
  }
}

export class MeshError extends RedexError {
  readonly reason: MeshErrorReason;

  constructor(reason: MeshErrorReason, message: string, options?: { cause?: unknown }) {
    super(codeFor(reason), `mesh: ${message}`, options);
    this.reason = reason;
  }
}

/** A config check: throws `MESH_CONFIG` naming the field and the bound. */
export function checkIntegerOption(
  owner: string,
  field: string,
  value: number,
  min: number,
  max: number,
): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new MeshError(
      MeshErrorReason.Config,
      `${owner}: ${field} must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
}

/** Like `checkIntegerOption` for probabilities and other finite reals. */
export function checkNumberOption(
  owner: string,
  field: string,
  value: number,
  min: number,
  max: number,
): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new MeshError(
      MeshErrorReason.Config,
      `${owner}: ${field} must be a number in [${min}, ${max}], got ${String(value)}`,
    );
  }
}
