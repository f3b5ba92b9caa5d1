import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLORS, equityChartOption, pngInfo, renderEquityChart, renderNoData, renderPnlBars, renderSvg } from '../../src/reports/charts.ts';
import { startBot } from '../helpers/harness.ts';
import { countColor, decodePng, inkPixels, PNG_SIGNATURE } from '../helpers/png.ts';

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const curve = (n: number): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [T0 + i * H, 10_000 + 80 * Math.sin(i / 6) + 3 * i]);
const TITLE_BAND = { x0: 0, y0: 0, x1: 960, y1: 34 };

describe('charts (echarts SSR → resvg PNG)', () => {
  it('renders an equity curve as a valid PNG of the requested size', async () => {
    const png = await renderEquityChart(curve(120), { title: 'Equity — last 5 days', subtitle: '10,000.00 → 10,360.00 USDT' });
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(pngInfo(png)).toEqual({ width: 960, height: 480 });
    expect(png.length).toBeGreaterThan(8_000);
    expect(png.length).toBeLessThan(500_000);
    const img = decodePng(png);
    expect(countColor(img, COLORS.line, 30)).toBeGreaterThan(300); // the line is drawn

    const small = await renderEquityChart(curve(10), { width: 400, height: 220 });
    expect(pngInfo(small)).toEqual({ width: 400, height: 220 });
  });

  it('rasterizes text with the bundled DejaVu font', async () => {
    const data = curve(48);
    const titled = await renderEquityChart(data, { title: 'Equity WWW 123' });
    const plain = await renderEquityChart(data, {});
    // Without a usable font resvg draws no glyphs at all: ink in the title band proves text rendered.
    expect(inkPixels(decodePng(titled), TITLE_BAND)).toBeGreaterThan(300);
    expect(inkPixels(decodePng(plain), TITLE_BAND)).toBeLessThan(20);
    expect(titled.length).toBeGreaterThan(plain.length);
    // Axis labels are text too.
    expect(inkPixels(decodePng(plain), { x0: 0, y0: 40, x1: 76, y1: 440 })).toBeGreaterThan(200);
  });

  it('draws gains green and losses red', async () => {
    const png = await renderPnlBars(
      [
        { label: '01-01', value: 120 },
        { label: '01-02', value: -80 },
        { label: '01-03', value: 30 },
      ],
      { title: 'Daily PnL', subtitle: 'total +70.00 USDT' },
    );
    expect(pngInfo(png)).toEqual({ width: 960, height: 480 });
    const img = decodePng(png);
    expect(countColor(img, COLORS.up, 10)).toBeGreaterThan(2_000);
    expect(countColor(img, COLORS.down, 10)).toBeGreaterThan(2_000);
    const allGreen = decodePng(await renderPnlBars([{ label: 'a', value: 5 }]));
    expect(countColor(allGreen, COLORS.down, 10)).toBe(0);
  });

  it('renders something sensible with no data or a single point', async () => {
    for (const png of [
      await renderEquityChart([], { title: 'Equity' }),
      await renderPnlBars([], { title: 'PnL' }),
      await renderNoData({ title: 'x' }),
    ]) {
      expect(pngInfo(png)).toEqual({ width: 960, height: 480 });
      const img = decodePng(png);
      // The "No … data yet" message sits in the middle.
      expect(inkPixels(img, { x0: 300, y0: 200, x1: 660, y1: 280 })).toBeGreaterThan(200);
    }
    const one = await renderEquityChart([[T0, 10_000]], { title: 'One point' });
    expect(pngInfo(one)).toEqual({ width: 960, height: 480 });
    expect(countColor(decodePng(one), COLORS.line, 30)).toBeGreaterThan(10); // the point's marker
  });
});

/** The numbers and times printed on a rendered chart's axes. */
const axisLabels = (svg: string): string[] => [...svg.matchAll(/>([^<>]+)<\/text>/g)].map((m) => m[1]!);

describe('chart axes', () => {
  it('the y-axis fits the data: a flat 10,000 equity is drawn on a narrow band around 10,000', () => {
    const flat: Array<[number, number]> = Array.from({ length: 24 }, (_, i) => [T0 + i * H, 10_000]);
    const o = equityChartOption(flat, {});
    const y = o.yAxis as { min: number; max: number };
    expect(y.min).toBeGreaterThanOrEqual(9_980);
    expect(y.max).toBeLessThanOrEqual(10_020);
    expect(y.min).toBeLessThan(10_000);
    expect(y.max).toBeGreaterThan(10_000);
    const labels = axisLabels(renderSvg(o)).filter((l) => /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(l)); // y ticks, not the year
    expect(labels.length).toBeGreaterThanOrEqual(3);
    expect(labels).toContain('10,000');
    for (const l of labels) expect(Math.abs(Number(l.replace(/,/g, '')) - 10_000), l).toBeLessThanOrEqual(20);
  });

  it('a curve flat but for float dust is drawn as flat: no warning, the same band', () => {
    const dusty: Array<[number, number]> = Array.from({ length: 24 }, (_, i) => [T0 + i * H, i % 2 ? 9_849.81 : 9_849.81 + 2e-12]);
    const warned: unknown[] = [];
    const warn = console.warn;
    console.warn = (...a: unknown[]) => void warned.push(a);
    try {
      const o = equityChartOption(dusty, {});
      const y = o.yAxis as { min: number; max: number };
      expect(y.max - y.min).toBeGreaterThan(1);
      expect(y.max - y.min).toBeLessThan(50);
      renderSvg(o);
    } finally {
      console.warn = warn;
    }
    expect(warned).toEqual([]);
  });

  it('the y-axis of a moving curve keeps it all in view with little waste', () => {
    const data = curve(120);
    const values = data.map((p) => p[1]);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const y = equityChartOption(data, {}).yAxis as { min: number; max: number };
    expect(y.min).toBeLessThanOrEqual(lo);
    expect(y.max).toBeGreaterThanOrEqual(hi);
    expect(y.max - y.min).toBeLessThan((hi - lo) * 2);
  });

  it('the x-axis spans the period reported, not just the snapshots inside it', () => {
    // Snapshots from 06:00 to 12:00 of a day reported 00:00–24:00.
    const points: Array<[number, number]> = Array.from({ length: 7 }, (_, i) => [T0 + (6 + i) * H, 10_000 + i * 10]);
    const o = equityChartOption(points, { xRange: [T0, T0 + 24 * H] });
    expect(o.xAxis).toMatchObject({ min: T0, max: T0 + 24 * H });
    const labels = axisLabels(renderSvg(o));
    expect(labels).toContain('04:00'); // before the first snapshot
    expect(labels).toContain('20:00'); // after the last
    // In another timezone the axis is shifted with the data (labels in local time).
    const berlin = equityChartOption(points, { xRange: [T0, T0 + 24 * H], timezone: 'Europe/Berlin' });
    expect(berlin.xAxis).toMatchObject({ min: T0 + H, max: T0 + 25 * H });
  });
});

describe('charts on the console', () => {
  it('/chart writes the PNG to data/charts beside the journal and the reply gives its path', async () => {
    const h = await startBot({ candles: 600, config: { chat: { console: { enabled: true } } } });
    try {
      await h.bot.console!.onLine('/chart');
      const m = /^== Equity — last 30 days ==\n[^\n]*\nChart saved: (\S+\.png)$/m.exec(h.printed());
      expect(m, h.printed().slice(-400)).not.toBeNull();
      const path = m![1]!;
      expect(path).toBe(join(h.dir, 'charts', path.split('/').pop()!));
      expect(existsSync(path)).toBe(true);
      const png = readFileSync(path);
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(pngInfo(png)).toEqual({ width: 960, height: 480 });
      expect(h.printed()).not.toContain('[image:');
    } finally {
      await h.stop();
    }
  });
});
