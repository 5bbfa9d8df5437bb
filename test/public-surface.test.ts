// The package's public surface is chosen, not accumulated: the exact names exported by the root
// (`redex-log`, src/index.ts) and by `redex-log/testing` (src/testing.ts), types included, are
// pinned here. Adding or removing a name means editing the expected list on purpose. The names are read
// from the entry files' export statements (types leave no trace at run time) and the values are
// checked against what an import really yields.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import ts from 'typescript';
import * as root from '../src/index.js';
import * as testing from '../src/testing.js';

const ROOT = [
  'CHANNEL_NAME_BYTES_MAX',
  'CaOptions',
  'CertificateMaterial',
  'ChannelId',
  'ChannelNameError',
  'ChannelNameRule',
  'Clock',
  'ClosedError',
  'CorruptError',
  'DEFAULT_REPLICATION_CONFIG',
  'FACTOR_MAX',
  'FACTOR_MIN',
  'FsyncPolicy',
  'HEARTBEAT_MS_MAX',
  'HEARTBEAT_MS_MIN',
  'IoError',
  'LaggedError',
  'MeshAddress',
  'MeshCredentials',
  'MeshError',
  'MeshErrorReason',
  'MeshMemberSpec',
  'MeshNode',
  'MeshNodeOptions',
  'MeshNodeSpec',
  'MeshTransport',
  'MeshTransportOptions',
  'MeshTransportTuning',
  'NodeCertOptions',
  'NodeCertificateMaterial',
  'NodeId',
  'NotLeaderError',
  'PINNED_NODES_MAX',
  'PINNED_NODES_MIN',
  'PeerAddress',
  'PlacementConfig',
  'Random',
  'Redex',
  'RedexError',
  'RedexErrorCode',
  'RedexEvent',
  'RedexFile',
  'RedexFileConfig',
  'RedexOptions',
  'RedexTail',
  'ReplicatedChannel',
  'ReplicationConfig',
  'ReplicationConfigError',
  'ReplicationConfigInput',
  'ReplicationConfigOptions',
  'ReplicationHost',
  'ReplicationMetrics',
  'ReplicationTimeoutError',
  'Replicator',
  'ResolvedMeshMember',
  'RetentionPolicy',
  'Role',
  'SeqMismatchError',
  'StartedMeshNode',
  'SyncClassName',
  'SystemClock',
  'SystemRandom',
  'TailOptions',
  'TimerHandle',
  'Transport',
  'UnderCapacityPolicy',
  'ValidityOptions',
  'VirtualClock',
  'WaitForReplicasOptions',
  'WriteOptions',
  'WrittenFiles',
  'createCa',
  'createNodeCert',
  'enableReplication',
  'formatMeshAddress',
  'initCa',
  'isNodeId',
  'issueNodeCert',
  'loadCa',
  'loadNodeCredentials',
  'nodeIdFromCertificate',
  'nodeIdOfCertFile',
  'nodeIdToHex',
  'parseMeshAddress',
  'replicatorOf',
  'startMeshNode',
  'systemClock',
  'systemRandom',
  'validateChannelName',
];

const TESTING = [
  'FileSystem',
  'FsFile',
  'MemoryFileSystem',
  'SIM_DELAY_MS_MAX',
  'SIM_FAULTS_DEFAULT',
  'SIM_IN_FLIGHT_MAX',
  'SIM_NODES_MAX',
  'SIM_TRACE_ENTRIES_MAX',
  'SeededRandom',
  'SimFaults',
  'SimNetwork',
  'SimNetworkOptions',
  'SimTraceEntry',
  'SimTraceEvent',
  'SimTransport',
  'VirtualClock',
  'settle',
];

const sorted = (names: Iterable<string>) => [...names].sort();

/** Every name an entry file exports, types included; `export *` is refused (it would hide growth). */
function exportedNames(path: string): { all: string[]; typeOnly: Set<string> } {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022);
  const all: string[] = [];
  const typeOnly = new Set<string>();
  for (const statement of source.statements) {
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    const exported = modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
    if (!ts.isExportDeclaration(statement)) {
      assert.ok(!exported, `${path}: only re-exports belong in an entry file`);
      continue;
    }
    const clause = statement.exportClause;
    assert.ok(clause !== undefined && ts.isNamedExports(clause), `${path}: no 'export *'`);
    for (const element of clause.elements) {
      all.push(element.name.text);
      if (statement.isTypeOnly || element.isTypeOnly) typeOnly.add(element.name.text);
    }
  }
  return { all: sorted(all), typeOnly };
}

function checkEntry(path: string, module: object, expected: readonly string[]): void {
  const { all, typeOnly } = exportedNames(path);
  assert.deepEqual(all, sorted(expected), `${path} exports exactly the chosen names`);
  const values = all.filter((name) => !typeOnly.has(name));
  assert.deepEqual(sorted(Object.keys(module)), values, `${path}: the run-time exports`);
}

describe('public surface', () => {
  it('the package root exports exactly the chosen library names', () => {
    checkEntry('src/index.ts', root, ROOT);
  });

  it('redex-log/testing exports exactly the simulation and test support', () => {
    checkEntry('src/testing.ts', testing, TESTING);
  });

  it('simulation internals stay out of the root; test support stays out of it too', () => {
    for (const name of ['SimTransport', 'SimNetwork', 'SeededRandom', 'MemoryFileSystem', 'tick']) {
      assert.ok(!(name in root), `${name} is not in the package root`);
    }
  });

  it('package.json maps both entry points to their build output', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', import: './dist/index.js' });
    assert.deepEqual(pkg.exports['./testing'], {
      types: './dist/testing.d.ts',
      import: './dist/testing.js',
    });
    assert.equal(pkg.exports['./package.json'], './package.json');
  });
});
