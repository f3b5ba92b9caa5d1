import { describe, expect, it } from 'vitest';
import { COLORS, pngInfo, renderEquityChart, renderNoData, renderPnlBars } from '../src/reports/charts.ts';
import { countColor, decodePng, inkPixels, PNG_SIGNATURE } from './helpers/png.ts';

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
