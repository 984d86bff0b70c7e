import { syntheticActivity } from '/work/main/layers/scoring/synthetic';
import { cloudTrailRecordSchema } from '/work/main/layers/cloudtrail/record';
import { principalOf, WindowBuilder } from '/work/main/layers/features';
import * as z from "zod";
const recs = JSON.parse(JSON.stringify([...syntheticActivity({ days: 30, developers: 10, applications: 5 })].slice(0, 100000)));
for (let k = 0; k < 2; k++) {
let t = performance.now(); for (const r of recs) cloudTrailRecordSchema.safeParse(r); console.log('zod', (performance.now() - t).toFixed(0));
t = performance.now(); for (const r of recs) principalOf(r); console.log('principalOf', (performance.now() - t).toFixed(0));
t = performance.now(); for (const r of recs) Date.parse(r.eventTime); console.log('Date.parse', (performance.now() - t).toFixed(0));
t = performance.now(); const b = new WindowBuilder(60); for (const r of recs) b.add(r); console.log('windows', (performance.now() - t).toFixed(0));
}
console.log((z as any).config?.().jitless, JSON.stringify(recs[0]).length);
