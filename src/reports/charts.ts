// PNG charts, rendered fully offline: echarts draws SVG server-side, resvg rasterizes it with the
// DejaVu Sans font shipped as a dependency (no system fonts, so every box renders the same pixels).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderAsync } from '@resvg/resvg-js';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, type BarSeriesOption, type LineSeriesOption } from 'echarts/charts';
import {
  GraphicComponent,
  GridComponent,
  MarkLineComponent,
  TitleComponent,
  type GraphicComponentOption,
  type GridComponentOption,
  type MarkLineComponentOption,
  type TitleComponentOption,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { tzOffsetMs } from './periods.ts';

echarts.use([LineChart, BarChart, GridComponent, TitleComponent, GraphicComponent, MarkLineComponent, SVGRenderer]);

type ChartOption = echarts.ComposeOption<
  LineSeriesOption | BarSeriesOption | GridComponentOption | TitleComponentOption | GraphicComponentOption | MarkLineComponentOption
>;

export const FONT_FAMILY = 'DejaVu Sans';
const FONT_DIR = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => join(FONT_DIR, f));

export const COLORS = { line: '#2563eb', up: '#16a34a', down: '#dc2626', text: '#1f2937', muted: '#6b7280', grid: '#e5e7eb' } as const;

export interface ChartOptions {
  title?: string;
  /** Second title line (e.g. the period's totals). */
  subtitle?: string;
  width?: number;
  height?: number;
  /** IANA timezone for the time axis (default UTC). */
  timezone?: string;
  /** The period shown [start, end] (ms): the time axis spans it even where there is no data. */
  xRange?: readonly [number, number];
}

const DEFAULT_W = 960;
const DEFAULT_H = 480;

/** Rasterize an SVG string to PNG off the event loop (resvg's async render runs on the libuv pool). */
export async function svgToPng(svg: string): Promise<Buffer> {
  const img = await renderAsync(svg, {
    font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    background: '#ffffff',
  });
  return img.asPng();
}

/** Render any echarts option to an SVG string. */
export function renderSvg(option: ChartOption, width = DEFAULT_W, height = DEFAULT_H): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: FONT_FAMILY, color: COLORS.text },
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose(); // frees zrender's storage; SSR charts are never garbage-collected otherwise
  }
}

/** Render any echarts option to PNG. */
export function renderOption(option: ChartOption, width = DEFAULT_W, height = DEFAULT_H): Promise<Buffer> {
  return svgToPng(renderSvg(option, width, height));
}

/** A round tick step near `raw` (1, 2, 2.5 or 5 × a power of ten). */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return p * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

/**
 * Y-axis bounds that fit the values with a small margin, on round ticks. Hand-rolled because
 * echarts' own `scale` fit zooms out to 4,000–16,000 for a flat 10,000 line: a flat line gets a
 * narrow band (±0.1 % of its value) around it instead.
 */
export function fitRange(values: readonly number[], ticks = 5): { min: number; max: number; interval: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) return { min: 0, max: 1, interval: 0.2 };
  // A spread of float dust (9,849.81 and 9,849.810000000002) is a flat line: ticks that fine don't exist.
  const flat = hi - lo <= Math.max(Math.abs(hi), Math.abs(lo)) * 1e-9;
  const pad = flat ? Math.max(Math.abs(hi) * 0.001, 0.01) : (hi - lo) * 0.08;
  if (flat) lo = hi;
  const interval = niceStep((hi - lo + 2 * pad) / ticks);
  // Round the bounds to the step (and away from float dust such as 9989.999999).
  const round = (x: number): number => Number(x.toPrecision(12));
  return { min: round(Math.floor((lo - pad) / interval) * interval), max: round(Math.ceil((hi + pad) / interval) * interval), interval };
}

const compact = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: Math.abs(x) >= 100 ? 0 : 2 });
/** A y tick with as many decimals as the tick step needs (a 0.2 step shows 10,000.2). */
const tickLabel = (x: number, step: number): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: Math.max(0, Math.min(8, -Math.floor(Math.log10(step) + 1e-9))) });
const signed = (x: number): string =>
  `${x > 0 ? '+' : ''}${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function titleOption(o: ChartOptions): TitleComponentOption {
  return {
    text: o.title ?? '',
    subtext: o.subtitle ?? '',
    left: 'center',
    top: 8,
    textStyle: { fontFamily: FONT_FAMILY, fontSize: 18, color: COLORS.text },
    subtextStyle: { fontFamily: FONT_FAMILY, fontSize: 13, color: COLORS.muted },
  };
}

const gridOption = (o: ChartOptions): GridComponentOption => ({ left: 80, right: 30, top: o.subtitle ? 76 : 56, bottom: 48 });

/** A chart-sized card saying there is nothing to draw yet. */
export function renderNoData(o: ChartOptions & { message?: string } = {}): Promise<Buffer> {
  const width = o.width ?? DEFAULT_W;
  const height = o.height ?? DEFAULT_H;
  return renderOption(
    {
      title: titleOption(o),
      graphic: [
        {
          type: 'text',
          left: 'center',
          top: 'middle',
          style: { text: o.message ?? 'No data yet', fontSize: 22, fontFamily: FONT_FAMILY, fill: COLORS.muted },
        },
      ],
    },
    width,
    height,
  );
}

/**
 * Equity curve. The time axis is labelled in `timezone`: echarts only knows local time or UTC, so
 * points are shifted by the zone's offset and drawn as UTC.
 */
export function renderEquityChart(points: ReadonlyArray<readonly [number, number]>, o: ChartOptions = {}): Promise<Buffer> {
  if (points.length === 0) return renderNoData({ ...o, message: 'No equity data yet' });
  return renderOption(equityChartOption(points, o), o.width ?? DEFAULT_W, o.height ?? DEFAULT_H);
}

/** The echarts option of an equity curve (exported for tests). */
export function equityChartOption(points: ReadonlyArray<readonly [number, number]>, o: ChartOptions = {}): ChartOption {
  const tz = o.timezone ?? 'UTC';
  const shift = (ts: number): number => (tz === 'UTC' ? ts : ts + tzOffsetMs(ts, tz));
  const data = points.map(([ts, eq]) => [shift(ts), eq]);
  const first = points[0]![1];
  const y = fitRange(points.map((p) => p[1]));
  return {
    useUTC: true,
    title: titleOption(o),
    grid: gridOption(o),
    xAxis: {
      type: 'time',
      axisLabel: {
        fontFamily: FONT_FAMILY,
        color: COLORS.muted,
        hideOverlap: true,
        formatter: { year: '{yyyy}', month: '{yyyy}-{MM}', day: '{MM}-{dd}', hour: '{HH}:{mm}', minute: '{HH}:{mm}' },
      },
      splitLine: { show: false },
      ...(o.xRange ? { min: shift(o.xRange[0]), max: shift(o.xRange[1]) } : {}),
    },
    yAxis: {
      type: 'value',
      min: y.min,
      max: y.max,
      interval: y.interval,
      axisLabel: { fontFamily: FONT_FAMILY, color: COLORS.muted, formatter: (v: number) => tickLabel(v, y.interval) },
      splitLine: { lineStyle: { color: COLORS.grid } },
    },
    series: [
      {
        type: 'line',
        data,
        // Few points: show them (a single point has no line); many: let echarts downsample (LTTB).
        showSymbol: points.length <= 40,
        symbolSize: points.length === 1 ? 10 : 5,
        sampling: 'lttb',
        lineStyle: { color: COLORS.line, width: 2 },
        itemStyle: { color: COLORS.line },
        areaStyle: { color: COLORS.line, opacity: 0.08 },
        markLine: {
          silent: true,
          symbol: 'none',
          lineStyle: { color: COLORS.muted, type: 'dashed' },
          label: { fontFamily: FONT_FAMILY, color: COLORS.muted, formatter: 'start', position: 'insideStartTop' },
          data: [{ yAxis: first }],
        },
      },
    ],
  };
}

export interface Bar {
  label: string;
  value: number;
}

/** PnL bars: green for gains, red for losses, values printed on the bars when they fit. */
export function renderPnlBars(bars: readonly Bar[], o: ChartOptions = {}): Promise<Buffer> {
  if (bars.length === 0) return renderNoData({ ...o, message: 'No PnL data yet' });
  const showValues = bars.length <= 16;
  return renderOption(
    {
      title: titleOption(o),
      grid: gridOption(o),
      xAxis: {
        type: 'category',
        data: bars.map((b) => b.label),
        axisLabel: { fontFamily: FONT_FAMILY, color: COLORS.muted, hideOverlap: true, rotate: bars.length > 10 ? 45 : 0 },
        axisTick: { alignWithLabel: true },
      },
      yAxis: {
        type: 'value',
        axisLabel: { fontFamily: FONT_FAMILY, color: COLORS.muted, formatter: (v: number) => compact(v) },
        splitLine: { lineStyle: { color: COLORS.grid } },
      },
      series: [
        {
          type: 'bar',
          barMaxWidth: 48,
          data: bars.map((b) => ({
            value: b.value,
            itemStyle: { color: b.value >= 0 ? COLORS.up : COLORS.down },
            label: { position: b.value >= 0 ? 'top' : 'bottom' },
          })),
          label: {
            show: showValues,
            fontFamily: FONT_FAMILY,
            fontSize: 11,
            color: COLORS.text,
            formatter: (p: { value?: unknown }) => signed(Number(p.value)),
          },
        },
      ],
    },
    o.width ?? DEFAULT_W,
    o.height ?? DEFAULT_H,
  );
}

export interface PngInfo {
  width: number;
  height: number;
}

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
export function pngInfo(png: Buffer): PngInfo | null {
  const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(SIG) || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
