// NodeIds in config files and JSON: 16 lowercase hex digits, as `nodeIdToHex` prints them (JSON
// has no 64-bit integers). Decimal is not accepted: a 16-digit decimal would read as valid hex.

import { isNodeId, nodeIdToHex } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';

const NODE_ID_HEX = /^[0-9a-f]{16}$/;

/** The NodeId written as 16 hex digits, or null when `text` is not one (0 is not a NodeId). */
export function parseNodeIdHex(text: unknown): NodeId | null {
  if (typeof text !== 'string' || !NODE_ID_HEX.test(text)) return null;
  const id = BigInt(`0x${text}`);
  return isNodeId(id) ? id : null;
}

export function formatNodeId(id: NodeId): string {
  return nodeIdToHex(id);
}
