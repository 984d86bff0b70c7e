import type { Decoy } from '../../layers/decoys/catalogue';
import { type Tell, tellsIn } from '../../layers/stealth/tells';
import { type Item, type Surface, surfaces } from './collect';

/**
 * The stealth audit: over everything collected (collect.ts, plant.ts) it reports
 * - marker words and UUID-shaped strings (layers/stealth/tells.ts), but for the
 *   one file format that really carries a UUID (a terraform state's `lineage`)
 *   and the nil and max UUIDs, which name nothing;
 * - any decoy name or decoy access key id outside the registry, except in the
 *   planted resources' own content, which names them by design;
 * - every source map shipped in a package.
 * Counts are grouped by surface, the README's table of tells re-measured.
 */

export type FindingKind = 'marker' | 'decoy name' | 'source map';

export interface Finding {
  kind: FindingKind;
  surface: Surface;
  where: string;
  /** The marker reason or the decoy name found. */
  detail: string;
  /** The text it was found in, cut to a readable length. */
  text: string;
}

export interface SurfaceCount {
  items: number;
  markers: number;
  names: number;
}

export interface AuditResult {
  findings: Finding[];
  counts: Record<Surface, SurfaceCount>;
  sourceMaps: number;
}

/** A terraform state's lineage line: a UUID v4, as terraform writes it. */
const LINEAGE_LINE =
  /^ {2}"lineage": "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",$/;
const UUID_REASON = 'contains a UUID-shaped string';
/** Any UUID-shaped string, as tells.ts matches it. */
const UUID_SHAPES = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/**
 * The nil and max UUIDs (RFC 9562) name nothing: validation libraries spell them
 * out in their UUID patterns (zod's does), so they are no tell.
 */
const NAMELESS_UUIDS = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
]);

/** The one UUID allowed in a text: a state file's lineage line, or only nameless UUIDs. */
function uuidAllowed(item: Item): boolean {
  if (item.format === 'terraform-state' && LINEAGE_LINE.test(item.text)) return true;
  return (item.text.match(UUID_SHAPES) ?? []).every((uuid) => NAMELESS_UUIDS.has(uuid.toLowerCase()));
}

/** Names shorter than this are too likely to occur by chance to single anything out. */
const SHORTEST_NAME = 6;

/**
 * The names a plan gives its decoys, as they would appear in a template, a
 * policy or a log line. An access key's plan entry names its user plus a suffix
 * (`user/access-key`), not a real name: its user's name covers it.
 */
export function namesOfPlan(decoys: readonly Pick<Decoy, 'kind' | 'name' | 'bucket'>[]): string[] {
  return decoys.flatMap((decoy) => [
    ...(decoy.kind === 'iam-access-key' ? [] : [decoy.name]),
    ...(decoy.bucket ? [decoy.bucket] : []),
  ]);
}

export function audit(
  items: readonly Item[],
  options: { decoyNames: readonly string[]; sourceMaps?: readonly string[] },
): AuditResult {
  const names = [...new Set(options.decoyNames.map((name) => name.toLowerCase()))].filter(
    (name) => name.length >= SHORTEST_NAME,
  );
  const counts = Object.fromEntries(
    surfaces.map((surface) => [surface, { items: 0, markers: 0, names: 0 }]),
  ) as Record<Surface, SurfaceCount>;
  const findings: Finding[] = [];
  /** Bundles repeat their strings many times over: scan each distinct text once. */
  const tellCache = new Map<string, Tell[]>();
  const tellsOf = (text: string) => {
    let tells = tellCache.get(text);
    if (!tells) {
      tells = tellsIn(text);
      tellCache.set(text, tells);
    }
    return tells;
  };

  for (const item of items) {
    const count = counts[item.surface];
    count.items++;
    for (const tell of tellsOf(item.text)) {
      if (tell.reason === UUID_REASON && uuidAllowed(item)) continue;
      count.markers++;
      findings.push(finding('marker', item, tell.reason));
    }
    if (item.namesAllowed) continue;
    const lower = item.text.toLowerCase();
    for (const name of names) {
      if (!lower.includes(name)) continue;
      count.names++;
      findings.push(finding('decoy name', item, name));
    }
  }
  for (const where of options.sourceMaps ?? []) {
    findings.push({
      kind: 'source map',
      surface: 'package code',
      where,
      detail: 'source map shipped',
      text: '',
    });
  }
  return { findings, counts, sourceMaps: options.sourceMaps?.length ?? 0 };
}

function finding(kind: FindingKind, item: Item, detail: string): Finding {
  const text = item.text.length > 160 ? `${item.text.slice(0, 157)}...` : item.text;
  return { kind, surface: item.surface, where: item.where, detail, text };
}

/** One line per surface that has anything, then the source maps: for a test's log and the README. */
export function countLines(result: AuditResult): string[] {
  const lines = surfaces
    .filter((surface) => result.counts[surface].items > 0)
    .map((surface) => {
      const { items, markers, names } = result.counts[surface];
      return `${surface.padEnd(16)} ${String(items).padStart(7)} strings  ${String(markers).padStart(5)} marker  ${String(names).padStart(5)} decoy-name`;
    });
  lines.push(`${'source maps'.padEnd(16)} ${String(result.sourceMaps).padStart(7)} files`);
  return lines;
}

/** The counts as a Markdown table, for the README's table of tells. */
export function countTable(result: AuditResult): string[] {
  return [
    '| surface | strings read | marker words | decoy names |',
    '|---|---:|---:|---:|',
    ...surfaces
      .filter((surface) => result.counts[surface].items > 0)
      .map((surface) => {
        const { items, markers, names } = result.counts[surface];
        return `| ${surface} | ${items} | ${markers} | ${names} |`;
      }),
    `| source maps | ${result.sourceMaps} files | | |`,
  ];
}

/** The findings grouped by kind, surface and detail, most frequent first, for reading. */
export function findingSummary(findings: readonly Finding[], examples = 1): string[] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = `${f.kind} | ${f.surface} | ${f.detail}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .flatMap(([key, group]) => [
      `${String(group.length).padStart(5)}  ${key}`,
      ...group.slice(0, examples).map((f) => `         e.g. ${f.where}: ${JSON.stringify(f.text)}`),
    ]);
}
