import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport as renderDrillReport } from '../../layers/drill/report';
import { renderReport as renderScoreReport } from '../../layers/scoring/report';
import { drillFixture, scoreReportInput } from './inputs';

/**
 * Both HTML reports rendered in headless Chromium (Debian's `chromium`), looked at
 * as a reader would: screenshots (and the HTML) in reports/screenshots/ (git-ignored), and checks
 * on what the page shows. Without Chromium the suite fails, unless
 * HONEYTRAIL_SKIP_BROWSER=1 says a machine without it may skip it (CI installs it).
 */
const CHROMIUM = process.env.HONEYTRAIL_CHROMIUM ?? '/usr/bin/chromium';
const SKIP_ALLOWED = process.env.HONEYTRAIL_SKIP_BROWSER === '1';
const SHOTS = join(import.meta.dirname, '..', '..', 'reports', 'screenshots');
const VIEWPORT = { width: 1280, height: 900 };
const available = existsSync(CHROMIUM);

if (!available && SKIP_ALLOWED)
  console.warn(
    `test/reports: skipped, no Chromium at ${CHROMIUM} (HONEYTRAIL_SKIP_BROWSER=1). Install it: apt-get install -y chromium`,
  );

describe.skipIf(!available && SKIP_ALLOWED)('reports in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!available)
      throw new Error(
        `no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium), point HONEYTRAIL_CHROMIUM at one, or set HONEYTRAIL_SKIP_BROWSER=1 to skip these tests`,
      );
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** Loads the HTML (kept beside its screenshot), full-page screenshot; console errors collected. */
  async function open(name: string, html: string): Promise<{ page: Page; errors: string[] }> {
    writeFileSync(join(SHOTS, `${name}.html`), html);
    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    // The reports are self-contained: nothing may be fetched.
    await page.route('**/*', (route) =>
      route.request().url().startsWith('data:') ? route.continue() : route.abort(),
    );
    await page.setContent(html, { waitUntil: 'load' });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    return { page, errors };
  }

  /** The page's height in CSS pixels (a string expression: the project's types have no DOM). */
  const pageHeight = async (page: Page) =>
    Number(await page.evaluate('document.documentElement.scrollHeight'));

  /** The x of every element matching `selector`, in page pixels, in one round trip. */
  const xs = async (page: Page, selector: string): Promise<number[]> => {
    const found = await page.evaluate(
      `[...document.querySelectorAll(${JSON.stringify(selector)})].map((e) => e.getBoundingClientRect().x)`,
    );
    if (!Array.isArray(found)) throw new Error(`no positions for ${selector}`);
    return found.map(Number);
  };

  it('drill.html: the timeline zooms to the attack, score dots are named, each plan is listed once', async () => {
    const result = drillFixture('one-morning');
    const { page, errors } = await open('drill-one-morning', renderDrillReport(result));
    expect(errors).toEqual([]);
    expect(await pageHeight(page)).toBeLessThan(6000);

    // The zoomed lanes: the attack's calls span most of the plot's width.
    const attackDots = await xs(page, 'svg[aria-label="timeline"] circle');
    const lane = (await page.locator('svg[aria-label="timeline"] > rect[opacity]').first().boundingBox())!;
    const spread = Math.max(...attackDots) - Math.min(...attackDots);
    expect(attackDots.length).toBe(result.calls.filter((c) => c.attack).length);
    expect(spread / lane.width).toBeGreaterThan(0.6);
    const timeline = page.locator('svg[aria-label="timeline"]');
    // Axis ticks at round minutes, several of them.
    const ticks = (await timeline.locator('text').allTextContents()).filter((t) => /^\d\d:\d\d$/.test(t));
    expect(ticks.length).toBeGreaterThanOrEqual(5);

    // Every score dot above the threshold or with attack calls carries its principal's name.
    const labels = await page.locator('svg[aria-label="anomaly scores"] text.dot-label').allTextContents();
    for (const point of result.scores.filter((p) => p.flagged || p.attack)) {
      const name = point.principal.split('/').pop()!;
      expect(labels.some((l) => l.startsWith(name) && l.endsWith(point.score.toFixed(2)))).toBe(true);
    }

    // Incidents: one card per principal with findings; a plan's changes appear once in it.
    const incidents = page.locator('.incident');
    expect(await incidents.count()).toBe(new Set(result.findings.map((r) => r.finding.actor.arn)).size);
    const incidentText = (await incidents.allTextContents()).join('\n');
    const change = result.findings.find((r) => r.response?.planned.length)!.response!.planned[0]!;
    expect(incidentText.split(change).length - 1).toBe(1);
    await page.close();
  });

  it('drill.html over two days: the axes and the times carry dates', async () => {
    const { page, errors } = await open('drill-two-days', renderDrillReport(drillFixture('two-days')));
    expect(errors).toEqual([]);
    const overview = await page.locator('svg[aria-label="the whole play"] text').allTextContents();
    expect(overview).toEqual(expect.arrayContaining(['Mon 13 May', 'Tue 14 May']));
    const lanes = await page.locator('svg[aria-label="timeline"] text').allTextContents();
    expect(lanes).toContain('Tue 14 May');
    expect(await page.locator('table td:first-child').first().textContent()).toMatch(
      /^2024-05-14 \d\d:\d\d:\d\d$/,
    );
    await page.close();
  });

  it('score.html: a readable histogram, only the features that moved each score, in words', async () => {
    const input = await scoreReportInput();
    const { page, errors } = await open('score', renderScoreReport(input));
    expect(errors).toEqual([]);
    expect(await pageHeight(page)).toBeLessThan(5000);

    const histogram = page.locator('svg[aria-label="score histogram"] text');
    const tickTexts = await histogram.allTextContents();
    expect(tickTexts.filter((t) => /^0\.\d+$/.test(t)).length).toBeGreaterThanOrEqual(4); // score ticks
    expect(tickTexts.filter((t) => /^\d+$/.test(t)).length).toBeGreaterThanOrEqual(3); // count ticks

    const cards = page.locator('.card');
    expect(await cards.count()).toBe(input.top);
    for (const card of await cards.all()) {
      const rows = await card.locator('table.reasons tr').count();
      // Never all 15 features: those that moved the score, plus the header row.
      expect(rows - 1).toBeLessThan(15);
      const text = (await card.textContent()) ?? '';
      // A red bar raises the score; a feature below its norm that raised it is said to be "less"/"fewer".
      for (const row of await card.locator('table.reasons tr:has(td.points.up)').allTextContents())
        expect(row).toMatch(/more|fewer|less|rarer|usual/);
      // A window flagged for less novelty says so.
      if (/newApiRatio/.test(text) && text.includes('fewer new APIs')) expect(text).toMatch(/less novelty/);
    }
    const quiet = await page.locator('.card.quiet .verdict').allTextContents();
    expect(quiet.length).toBeGreaterThan(0);
    for (const verdict of quiet) expect(verdict).toMatch(/^Flagged for lacking novelty\./);
    await page.close();
  });
});
