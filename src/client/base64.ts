// Base64 and UTF-8 without Node's Buffer, so the client runs wherever `atob`/`btoa` exist
// (Node 16+, browsers, Deno). The API sends payloads as base64 inside JSON.

/** btoa takes a "binary string"; building it in slices keeps the argument lists short. */
const SLICE_BYTES = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let offset = 0; offset < bytes.byteLength; offset += SLICE_BYTES) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + SLICE_BYTES));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

const encoder = new TextEncoder();

/** A payload as bytes: strings are UTF-8. */
export function payloadBytes(payload: Uint8Array | string): Uint8Array {
  return typeof payload === 'string' ? encoder.encode(payload) : payload;
}
