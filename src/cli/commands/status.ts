// `redex status`: the node, its peers and its channels, as a table or as JSON.

import type { Command } from 'commander';
import type { NodeStatus } from '../../client/index.js';
import type { CommandContext } from '../context.js';
import { dash, duration, jsonLine, table } from '../format.js';
import { channelRows } from './channel.js';

export function renderStatus(status: NodeStatus): string {
  const { node } = status;
  const lines = [
    `node ${node.name}${node.nodeId ? ` (NodeId ${node.nodeId})` : ''} · redex ${node.version} · ${node.mode} · up ${duration(node.uptimeMs)} · ${node.accepting ? 'accepting writes' : 'shutting down'}`,
  ];
  if (node.http !== null) lines.push(`http ${node.http}`);
  if (node.mesh !== null) lines.push(`mesh ${node.mesh}`);
  lines.push('');
  if (status.peers.length === 0) lines.push('peers: none');
  else {
    lines.push(
      table(
        ['PEER', 'NODEID', 'MESH', 'HTTP', 'STATE', 'RTT MS'],
        status.peers.map((peer) => [
          dash(peer.name),
          dash(peer.nodeId),
          dash(peer.mesh),
          dash(peer.http),
          peer.connected ? 'connected' : 'down',
          peer.rttMs === null ? '—' : peer.rttMs.toFixed(2),
        ]),
      ),
    );
  }
  lines.push('');
  lines.push(status.channels.length === 0 ? 'channels: none' : channelRows(status.channels));
  return `${lines.join('\n')}\n`;
}

export function registerStatus(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description("the node's status: peers with RTT, channels with role, leader and tail")
    .option('--json', 'print the API answer as one line of JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = await ctx.client(command);
      const status = await client.status({ signal: ctx.io.signal });
      ctx.io.stdout.write(options.json ? jsonLine(status) : renderStatus(status));
    });
}
