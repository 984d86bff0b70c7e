import { readCloudTrail } from '../layers/cloudtrail/reader';
import { WindowBuilder } from '../layers/features';
const dir = process.argv[2]!;
for (let k = 0; k < 3; k++) {
const t = performance.now(); const b = new WindowBuilder(60);
for await (const r of readCloudTrail([dir])) b.add(r);
console.log('read+windows', b.records, (performance.now() - t).toFixed(0));
}
