// A three-member etcd cluster on loopback, the daemon benchmark's peer: Debian's `etcd-server`
// (etcd 3.4), `--heartbeat-interval=100 --election-timeout=1000`, data in a temporary directory,
// peer traffic over mutual TLS with certificates from our own CA code (as RedEX's mesh and the
// NATS routes), clients in plain HTTP on loopback through etcd's HTTP/JSON gateway. `ETCD` names
// the binary explicitly (a path that does not exist means "none": the etcd rows are skipped).
// Every process is SIGKILLed by `close()` and when the benchmark process exits.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueNodeCert } from '../../src/mesh/certs.js';
import { freePorts } from '../peers/nats-cluster.js';
import { pool } from './http-load.js';

const NAMES = ['e1', 'e2', 'e3'] as const;
const START_TIMEOUT_MS = 30_000;
const LOG_KEEP_CHARS = 8_000;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function findEtcd(): string | null {
  const explicit = process.env.ETCD;
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : null;
  for (const candidate of ['/usr/bin/etcd', '/usr/local/bin/etcd']) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export function etcdVersion(binary: string): string {
  const text = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  return `etcd ${/etcd Version: (\S+)/.exec(text)?.[1] ?? '?'}`;
}

export interface EtcdMember {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  log: string;
}

/** base64 of a string, as the JSON gateway takes keys and values. */
export const b64 = (text: string | Uint8Array): string => Buffer.from(text).toString('base64');

export class EtcdCluster {
  readonly dir: string;
  readonly members: EtcdMember[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async start(binary: string): Promise<EtcdCluster> {
    const cluster = new EtcdCluster(mkdtempSync(join(tmpdir(), 'redex-bench-etcd-')));
    try {
      await cluster.#start(binary);
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  async #start(binary: string): Promise<void> {
    const certs = join(this.dir, 'certs');
    await initCa(certs);
    for (const name of NAMES) await issueNodeCert(certs, name, { hosts: ['127.0.0.1'] });
    const ports = await freePorts(NAMES.length * 2);
    const clientUrls = NAMES.map((_, i) => `http://127.0.0.1:${ports[i]}`);
    const peerUrls = NAMES.map((_, i) => `https://127.0.0.1:${ports[NAMES.length + i]}`);
    const initial = NAMES.map((name, i) => `${name}=${peerUrls[i]}`).join(',');
    for (const [i, name] of NAMES.entries()) {
      const args = [
        `--name=${name}`,
        `--data-dir=${join(this.dir, name)}`,
        `--listen-client-urls=${clientUrls[i]}`,
        `--advertise-client-urls=${clientUrls[i]}`,
        `--listen-peer-urls=${peerUrls[i]}`,
        `--initial-advertise-peer-urls=${peerUrls[i]}`,
        `--initial-cluster=${initial}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=redex-bench',
        '--heartbeat-interval=100',
        '--election-timeout=1000',
        `--peer-cert-file=${join(certs, `${name}.crt`)}`,
        `--peer-key-file=${join(certs, `${name}.key`)}`,
        `--peer-trusted-ca-file=${join(certs, 'ca.crt')}`,
        '--peer-client-cert-auth',
        '--log-level=warn',
      ];
      const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      live.add(child);
      const member: EtcdMember = {
        name,
        url: clientUrls[i]!,
        child,
        log: '',
        exited: new Promise<void>((resolve) => {
          child.once('exit', () => {
            live.delete(child);
            resolve();
          });
        }),
      };
      child.stderr?.on('data', (chunk: Buffer) => {
        member.log = (member.log + chunk.toString()).slice(-LOG_KEEP_CHARS);
      });
      this.members.push(member);
    }
    await this.leader(START_TIMEOUT_MS);
  }

  alive(): EtcdMember[] {
    return this.members.filter((m) => m.child.exitCode === null && m.child.signalCode === null);
  }

  /** The member every live member names as leader, once they agree (polls its status). */
  async leader(timeoutMs = 10_000): Promise<EtcdMember> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = await this.#agreedLeader().catch(() => null);
      if (found !== null) return found;
      for (const member of this.members) {
        if (member.child.exitCode !== null) {
          throw new Error(`etcd ${member.name} exited: ${member.log}`);
        }
      }
      if (performance.now() > deadline) {
        throw new Error(`etcd has no leader: ${this.members.map((m) => m.log).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #agreedLeader(): Promise<EtcdMember | null> {
    const statuses = await Promise.all(
      this.alive().map(async (member) => {
        const client = pool(member.url, 1);
        try {
          const response = await client.request({
            path: '/v3/maintenance/status',
            method: 'POST',
            body: '{}',
            headersTimeout: 1_000,
            bodyTimeout: 1_000,
          });
          const status = (await response.body.json()) as {
            header?: { member_id?: string };
            leader?: string;
          };
          return { member, id: status.header?.member_id, leader: status.leader };
        } finally {
          await client.close();
        }
      }),
    );
    const leaderId = statuses[0]?.leader;
    if (leaderId === undefined || leaderId === '0') return null;
    if (!statuses.every((s) => s.leader === leaderId)) return null;
    return statuses.find((s) => s.id === leaderId)?.member ?? null;
  }

  kill(member: EtcdMember): Promise<void> {
    member.child.kill('SIGKILL');
    return member.exited;
  }

  async close(): Promise<void> {
    for (const member of this.members) member.child.kill('SIGKILL');
    await Promise.all(this.members.map((m) => m.exited));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
