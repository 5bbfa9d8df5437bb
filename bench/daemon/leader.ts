// Which member of a `redex serve` cluster leads a channel, as its HTTP API says (the daemon
// benchmark and its counters both need it).

import { pool } from './http-load.js';
import type { ServeCluster } from './serve-cluster.js';

interface ChannelStatus {
  readonly leader: { readonly name: string } | null;
}

/** The name of `channel`'s leader, once every live member names the same one. */
export async function redexLeader(
  cluster: ServeCluster,
  channel: string,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const names = await Promise.all(
      cluster.members
        .filter((m) => m.child !== null)
        .map(async (m) => {
          const client = pool(m.url, 1);
          try {
            const response = await client.request({ path: `/channels/${channel}`, method: 'GET' });
            const status = (await response.body.json()) as ChannelStatus;
            return status.leader?.name ?? null;
          } catch {
            return null;
          } finally {
            await client.close();
          }
        }),
    );
    const first = names[0] ?? null;
    if (first !== null && names.every((n) => n === first)) return first;
    if (performance.now() > deadline) throw new Error(`no agreed leader: ${names.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
