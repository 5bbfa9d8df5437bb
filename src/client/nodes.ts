// The nodes a client talks to: the configured URLs, plus leaders it learned from NOT_LEADER
// answers, and per channel the node that last took its writes. Reads and streams stick to one
// node until it fails, then move on in order.

import { RedexClientError } from './errors.js';

/** Nodes a client knows at most (configured and learned); hints beyond it are not remembered. */
export const NODES_MAX = 64;
/** Channels whose leader is remembered at most; the oldest entry goes first. */
export const LEADER_CACHE_MAX = 4_096;

/** `http(s)://host:port[/prefix]` without a trailing slash, or a typed error. */
export function normalizeNode(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`a node URL must be http:// or https://, got ${JSON.stringify(url)}`);
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, '');
}

function invalid(message: string): RedexClientError {
  return new RedexClientError({
    code: 'INVALID_ARGUMENT',
    message,
    status: null,
    node: null,
    outcome: 'none',
  });
}

export class NodeSet {
  readonly #nodes: string[] = [];
  readonly #leaders = new Map<string, string>();
  #current = 0;

  constructor(urls: readonly string[]) {
    for (const url of urls) this.#add(normalizeNode(url));
    if (this.#nodes.length === 0) throw invalid('give at least one node URL');
  }

  get all(): readonly string[] {
    return this.#nodes;
  }

  /** The node reads and streams use until it fails. */
  get current(): string {
    return this.#nodes[this.#current]!;
  }

  /** The node after `node` in order (wrapping); also makes it the current one if `node` was. */
  after(node: string): string {
    const index = this.#nodes.indexOf(node);
    const next = (index + 1) % this.#nodes.length;
    if (index === this.#current) this.#current = next;
    return this.#nodes[next]!;
  }

  leaderOf(channel: string): string | null {
    return this.#leaders.get(channel) ?? null;
  }

  /** Remembers `node` as the leader of `channel` (and as a node, if there is room). */
  setLeader(channel: string, node: string): void {
    this.#add(node);
    this.#leaders.delete(channel);
    if (this.#leaders.size >= LEADER_CACHE_MAX) {
      const oldest = this.#leaders.keys().next().value;
      if (oldest !== undefined) this.#leaders.delete(oldest);
    }
    this.#leaders.set(channel, node);
  }

  forgetLeader(channel: string): void {
    this.#leaders.delete(channel);
  }

  #add(node: string): void {
    if (!this.#nodes.includes(node) && this.#nodes.length < NODES_MAX) this.#nodes.push(node);
  }
}
