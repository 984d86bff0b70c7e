import type { CostLine, CostReport } from './model';

/** The cost report as text for a terminal: one line per cost, the totals, the assumptions. */
export function formatCostReport(report: CostReport): string {
  const { input } = report;
  const rows = report.lines.map((line) => [
    line.service,
    line.item,
    quantity(line.quantity),
    `${line.price.confirmed ? '' : '*'}${unitPrice(line)}`,
    usd(line.usdPerMonth),
    line.area === 'control-plane' ? 'shared' : '',
  ]);
  const header = ['service', 'item', 'per month', 'unit price', 'USD/month', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) => (i === 2 || i === 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const mode = input.mode === 'member' ? 'one member account' : 'one account (single-account mode)';
  return [
    `Cost per month of ${mode}: ${quantity(input.eventsPerDay)} CloudTrail events a day, ${input.regions} active Region(s)`,
    '',
    format(header),
    ...rows.map(format),
    '',
    `total: $${report.totalUsdPerMonth.toFixed(2)} a month ($${report.perMillionEventsUsd.toFixed(2)} per million events)` +
      (input.mode === 'member'
        ? `; the shared control plane adds $${report.sharedControlPlaneUsdPerMonth.toFixed(2)} a month once per organization`
        : ''),
    '',
    ...report.assumptions.map((a) => `- ${a}`),
    `- measured: ${report.measured.source}: ${report.measured.forwarded} of ${report.measured.records} records forwarded, ${report.measured.touchInvocations} touch invocations`,
  ].join('\n');
}

function unitPrice(line: CostLine): string {
  const per = line.price.per === 1 ? '' : ` per ${quantity(line.price.per)}`;
  return `$${line.price.usd}${per}`;
}

function usd(value: number): string {
  return value < 0.01 && value > 0 ? '<0.01' : value.toFixed(2);
}

function quantity(value: number): string {
  if (value >= 1_000_000) return `${trim(value / 1_000_000)}M`;
  if (value >= 10_000) return `${trim(value / 1000)}k`;
  return trim(value);
}

function trim(value: number): string {
  return value >= 100 ? Math.round(value).toString() : Number(value.toPrecision(3)).toString();
}
