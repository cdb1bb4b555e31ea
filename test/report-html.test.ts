import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { ensureChromium } from '../infra/local/chromium';
import { buildReport } from '../reports/report';
import { renderHtml } from '../reports/render';
import { sampleDrillInput, sampleMultiDatabaseDrillInput, sampleTrend } from '../reports/sample';

const PNG_SIGNATURE = '89504e470d0a1a0a';

describe('the HTML report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    // Installs Debian's chromium with apt-get on first use (about 20 s).
    const executablePath = await ensureChromium({ log: (line) => process.stderr.write(`${line}\n`) });
    browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    dir = fs.mkdtempSync(path.join(process.env.DROVER_TEST_TMP ?? os.tmpdir(), 'report-html-'));
  }, 15 * 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** Write the report's HTML to a file and open it in a new page, collecting console errors and warnings. */
  async function openReport(html: string, name: string, watchRequests = false) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, html);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
    if (watchRequests) page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()}`));
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return { page, errors };
  }

  test('a drill report renders both charts with no console error and screenshots to a PNG', async () => {
    const report = buildReport(sampleDrillInput());
    const { page, errors } = await openReport(renderHtml(report, sampleTrend()), 'report.html', true);

    const charts = await page.evaluate(() => {
      const g = globalThis as unknown as {
        document: { getElementById(id: string): { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } | null };
        Chart: { getChart(canvas: unknown): { data: { datasets: Array<{ data: unknown[] }> } } | undefined };
      };
      return ['timeline-chart', 'trend-chart'].map((id) => {
        const canvas = g.document.getElementById(id);
        if (!canvas) return { id, width: 0, painted: 0, points: 0 };
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        const chart = g.Chart.getChart(canvas);
        const points = chart ? chart.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null && v !== undefined).length, 0) : 0;
        return { id, width: canvas.width, painted, points };
      });
    });

    const png = path.join(dir, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    await page.close();

    expect(errors).toEqual([]);
    const [timeline, trend] = charts;
    expect(timeline).toMatchObject({ id: 'timeline-chart' });
    expect(timeline.points).toBe(report.steps.filter((s) => s.durationMs !== undefined).length);
    expect(timeline.painted).toBeGreaterThan(timeline.width * 20);
    expect(trend).toMatchObject({ id: 'trend-chart' });
    // Six drills (five earlier, this one) plus the objective line.
    expect(trend.points).toBe(5 + 6);
    expect(trend.painted).toBeGreaterThan(trend.width * 20);

    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe(PNG_SIGNATURE);
    expect(bytes.subarray(12, 16).toString('ascii')).toBe('IHDR');
    const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    expect(width).toBe(1280);
    expect(height).toBeGreaterThan(1500);
    expect(bytes.length).toBeGreaterThan(50_000);
    process.stderr.write(`report screenshot: ${png}\n`);
  });

  test('a drill of several databases shows the RPO per database as a table, with no console error', async () => {
    const report = buildReport(sampleMultiDatabaseDrillInput());
    const { page, errors } = await openReport(renderHtml(report, sampleTrend()), 'report-databases.html');
    const rows = await page.evaluate(() => {
      const g = globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> } };
      return Array.from(g.document.querySelectorAll('#rpo-databases tbody tr')).map((tr) => tr.textContent ?? '');
    });
    await page.close();

    expect(errors).toEqual([]);
    expect(report.rpo.met).toBe(true);
    expect(rows).toEqual([
      expect.stringMatching(/^ordersapnakart-orders-replica \(ap-southeast-1\)0s1m00s✓ met/),
      expect.stringMatching(/^catalogapnakart-catalog-replica/),
      expect.stringMatching(/^sessionsapnakart-sessions-replica/),
    ]);
  });
});
