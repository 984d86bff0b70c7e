import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { syntheticActivity } from '../layers/scoring/synthetic';
import { readCloudTrail } from '../layers/cloudtrail/reader';
import { WindowBuilder } from '../layers/features';
const dir = mkdtempSync('/tmp/scratch/p4-');
let batch: unknown[] = []; let f = 0; let n = 0;
for (const r of syntheticActivity({ days: 30, developers: 10, applications: 5 })) { batch.push(r); n++; if (batch.length === 1000) { writeFileSync(`${dir}/${String(f++).padStart(4,'0')}.json.gz`, gzipSync(JSON.stringify({ Records: batch }))); batch = []; } if (n === 100000) break; }
const t = performance.now(); const b = new WindowBuilder(60);
for await (const r of readCloudTrail([dir])) b.add(r);
console.log('read+windows', (performance.now() - t).toFixed(0));
