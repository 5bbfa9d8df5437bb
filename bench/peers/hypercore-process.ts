// One hypercore peer in its own process, for the catch-up comparison (bench:replication).
//
//   writer <storage> <count> <size>      builds a core of <count> blocks of <size> bytes, then
//                                        serves replication on an ephemeral loopback TCP port and
//                                        sends { key, port } over IPC; runs until killed.
//   reader <storage> <key> <port> <count>
//                                        opens an empty core for <key>, connects, downloads
//                                        blocks [0, count) and sends { ms } (connect → all
//                                        blocks stored), then exits.
//
// <storage> is `disk:<dir>` (hypercore 11, RocksDB) or `ram` (hypercore 10 on
// random-access-memory). Replication streams are hypercore's own Noise-encrypted secret streams,
// the counterpart of RedEX's TLS.

import { connect, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Hypercore from 'hypercore';
import Hypercore10 from 'hypercore-10';
import RAM from 'random-access-memory';

const [mode, storage, ...rest] = process.argv.slice(2);

function open(key?: Uint8Array): Hypercore {
  if (storage === 'ram') return new Hypercore10(RAM, key ?? null);
  if (storage?.startsWith('disk:')) return new Hypercore(storage.slice(5), key ?? null);
  throw new Error(`unknown storage ${String(storage)}`);
}

function pipe(stream: Duplex, socket: Socket): void {
  stream.on('error', () => {});
  socket.on('error', () => {});
  stream.pipe(socket).pipe(stream);
}

function send(message: Record<string, unknown>): Promise<void> {
  return new Promise((resolve) => process.send?.(message, () => resolve()));
}

async function writer(count: number, size: number): Promise<void> {
  const core = open();
  await core.ready();
  const block = new Uint8Array(size).fill(0x68);
  const batch = Array.from({ length: 1024 }, () => block);
  const started = performance.now();
  while (core.length < count) {
    const n = Math.min(batch.length, count - core.length);
    await core.append(n === batch.length ? batch : batch.slice(0, n));
  }
  const buildMs = performance.now() - started;
  const server = createServer((socket) => pipe(core.replicate(false), socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await send({ key: Buffer.from(core.key).toString('hex'), port: address.port, buildMs });
}

async function reader(keyHex: string, port: number, count: number): Promise<void> {
  const core = open(Buffer.from(keyHex, 'hex'));
  await core.ready();
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  pipe(core.replicate(true), socket);
  await core.update({ wait: true });
  await core.download({ start: 0, end: count }).done();
  const ms = performance.now() - started;
  await send({ ms, length: core.length });
  socket.destroy();
  await core.close();
  process.exit(0);
}

process.on('disconnect', () => process.exit(0));
if (mode === 'writer') await writer(Number(rest[0]), Number(rest[1]));
else if (mode === 'reader') await reader(rest[0]!, Number(rest[1]), Number(rest[2]));
else throw new Error(`usage: writer|reader …, got ${String(mode)}`);
