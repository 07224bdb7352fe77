/**
 * `npm run contracts`: compares the event catalog's payload schemas with the committed
 * snapshot (contracts/events.json) and fails on a change that would break a consumer — a field
 * removed or retyped, a new required field, an enum value removed, a version gone, a new
 * version without an upcaster from the one before. Additions pass.
 * `npm run contracts -- --update` writes the snapshot from the code (commit it with the change).
 * `--snapshot <file>` compares against another snapshot file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { catalogContracts, catalogUpcasters, contractBreaks, type EventContracts } from '../src/kernel/contracts.js';

const { values } = parseArgs({ options: { update: { type: 'boolean', default: false }, snapshot: { type: 'string' } } });
const snapshotFile = values.snapshot ?? fileURLToPath(new URL('../contracts/events.json', import.meta.url));
const current = catalogContracts();

if (values.update) {
  writeFileSync(snapshotFile, `${JSON.stringify(current, null, 2)}\n`);
  console.log(`contracts: wrote ${Object.keys(current).length} event types to ${snapshotFile}`);
  process.exit(0);
}
if (!existsSync(snapshotFile)) {
  console.error(`contracts: no snapshot at ${snapshotFile}; write it with \`npm run contracts -- --update\``);
  process.exit(2);
}
const committed = JSON.parse(readFileSync(snapshotFile, 'utf8')) as EventContracts;
const breaks = contractBreaks(committed, current, { upcasters: catalogUpcasters() });
const added = Object.entries(current).flatMap(([type, versions]) => Object.keys(versions).filter((v) => !committed[type]?.[v]).map((v) => `${type} v${v}`));
if (breaks.length > 0) {
  console.error(`contracts: ${breaks.length} breaking change${breaks.length > 1 ? 's' : ''} against ${snapshotFile}:`);
  for (const found of breaks) console.error(`  ${found.kind}: ${found.message}`);
  console.error('A published event version never changes incompatibly: add the next version with an upcaster from this one.');
  process.exit(1);
}
const versions = Object.values(current).reduce((n, v) => n + Object.keys(v).length, 0);
console.log(`contracts: ${Object.keys(current).length} event types, ${versions} versions, no breaking change against ${snapshotFile}`);
if (added.length > 0) console.log(`contracts: new since the snapshot (additions, accepted): ${added.join(', ')}; record them with \`npm run contracts -- --update\``);
