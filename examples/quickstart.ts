// `npm start`: a tour of the local log — open a channel, append, read a range, tail it live,
// apply retention. (A later release turns `npm start` into a local 3-node cluster.)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redex } from '../src/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const show = (payload: Uint8Array) => JSON.stringify(decoder.decode(payload));

const redex = new Redex();
const orders = await redex.openFile('orders/audit', { retention: { maxEvents: 5 } });
console.log(`opened channel "${orders.name}" (in memory), next seq ${orders.nextSeq}`);

for (const item of ['coffee', 'bagel', 'juice']) {
  const seq = await orders.append(encoder.encode(`order ${item}`));
  console.log(`append ${JSON.stringify(`order ${item}`)} -> seq ${seq}`);
}
const first = await orders.appendBatch(
  ['refund bagel', 'order tea'].map((text) => encoder.encode(text)),
);
console.log(`appendBatch of 2 -> seqs ${first}..${orders.nextSeq - 1}`);

console.log('readRange(1, 4):');
for (const event of await orders.readRange(1, 4))
  console.log(`  seq ${event.seq}: ${show(event.payload)}`);

console.log('tail from seq 3, then two live appends:');
const tail = orders.tail({ fromSeq: 3 });
const printed = (async () => {
  for await (const event of tail) {
    console.log(`  tail got seq ${event.seq}: ${show(event.payload)}`);
    if (event.seq === 6) break;
  }
})();
await orders.append(encoder.encode('order cake'));
await orders.append(encoder.encode('order water'));
await printed;

const evicted = await orders.sweepRetention();
console.log(
  `retention (maxEvents 5) evicted ${evicted}; now holding seqs ${orders.firstSeq}..${orders.nextSeq - 1}`,
);
await redex.close();

const dir = mkdtempSync(join(tmpdir(), 'redex-quickstart-'));
const onDisk = new Redex({ dir });
const ledger = await onDisk.openFile('payments/ledger', { persistent: true, fsync: 'always' });
await ledger.appendBatch(['debit 12.50', 'credit 3.00'].map((text) => encoder.encode(text)));
console.log(`persistent channel "${ledger.name}" in ${dir}: ${ledger.len} events fsynced, closing`);
await onDisk.close();
const reopened = await new Redex({ dir }).openFile('payments/ledger', { persistent: true });
const survived = (await reopened.readRange(0, reopened.nextSeq)).map((event) =>
  show(event.payload),
);
console.log(`reopened: ${survived.join(', ')}; next seq ${reopened.nextSeq}`);
await reopened.close();
rmSync(dir, { recursive: true, force: true });
console.log('done. Next: `npm test` runs the test suite.');
