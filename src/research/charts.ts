// Research charts, drawn with the reports' echarts + resvg pipeline (PNG) or as inline SVG (HTML report).
import * as echarts from 'echarts/core';
import { HeatmapChart, LineChart, ScatterChart, BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, VisualMapComponent, MarkLineComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { COLORS, FONT_FAMILY, renderOption, renderSvg } from '../reports/charts.ts';
import type { ParamSpec } from './params.ts';
import type { RunResult } from './run-config.ts';
import type { SweepReport } from './sweep.ts';

echarts.use([
  HeatmapChart,
  LineChart,
  ScatterChart,
  BarChart,
  GridComponent,
  LegendComponent,
  TitleComponent,
  VisualMapComponent,
  MarkLineComponent,
  SVGRenderer,
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- echarts' composed option types are too narrow for mixed grids
type Option = any;

const axisLabel = { fontFamily: FONT_FAMILY, color: COLORS.muted, hideOverlap: true };
const title = (text: string, subtext = '') => ({
  text,
  subtext,
  left: 'center',
  top: 6,
  textStyle: { fontFamily: FONT_FAMILY, fontSize: 16, color: COLORS.text },
  subtextStyle: { fontFamily: FONT_FAMILY, fontSize: 12, color: COLORS.muted },
});
const timeAxis = (gridIndex: number, show = true) => ({
  type: 'time',
  gridIndex,
  axisLabel: { ...axisLabel, show },
  splitLine: { show: false },
});
const valueAxis = (gridIndex: number, fmt?: (v: number) => string) => ({
  type: 'value',
  gridIndex,
  scale: true,
  axisLabel: { ...axisLabel, ...(fmt ? { formatter: fmt } : {}) },
  splitLine: { lineStyle: { color: COLORS.grid } },
});

/** Drawdown from an equity curve, as negative fractions. */
export function drawdownOf(equity: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  let peak = -Infinity;
  return equity.map(([t, e]) => {
    peak = Math.max(peak, e);
    return [t, peak > 0 ? e / peak - 1 : 0];
  });
}

export function equityDrawdownOption(r: RunResult, heading: string): Option {
  return {
    useUTC: true,
    animation: false,
    title: title(
      heading,
      `return ${(r.metrics.total_return * 100).toFixed(2)}%, max drawdown ${(r.metrics.max_drawdown * 100).toFixed(2)}%`,
    ),
    grid: [
      { left: 80, right: 30, top: 70, height: '52%' },
      { left: 80, right: 30, bottom: 40, height: '20%' },
    ],
    xAxis: [timeAxis(0, false), timeAxis(1)],
    yAxis: [valueAxis(0), valueAxis(1, (v: number) => `${(v * 100).toFixed(0)}%`)],
    series: [
      {
        type: 'line',
        xAxisIndex: 0,
        yAxisIndex: 0,
        data: r.equity,
        showSymbol: false,
        sampling: 'lttb',
        lineStyle: { color: COLORS.line, width: 2 },
        areaStyle: { color: COLORS.line, opacity: 0.08 },
      },
      {
        type: 'line',
        xAxisIndex: 1,
        yAxisIndex: 1,
        data: drawdownOf(r.equity),
        showSymbol: false,
        sampling: 'lttb',
        lineStyle: { color: COLORS.down, width: 1 },
        areaStyle: { color: COLORS.down, opacity: 0.2 },
      },
    ],
  };
}

/** Equity (top) and drawdown (bottom) PNG. */
export function equityDrawdownPng(r: RunResult, heading: string): Promise<Buffer> {
  return renderOption(equityDrawdownOption(r, heading), 960, 560);
}

/** The objective over two parameters (the mean over walk-forward windows), as a heat map PNG. */
export function heatmapPng(report: SweepReport, a: ParamSpec, b: ParamSpec): Promise<Buffer> {
  const sums = new Map<string, { s: number; n: number }>();
  for (const ranked of report.rankings)
    for (const x of ranked) {
      if (!Number.isFinite(x.objective)) continue;
      const k = `${String(x.point[a.path])}|${String(x.point[b.path])}`;
      const cur = sums.get(k) ?? { s: 0, n: 0 };
      cur.s += x.objective;
      cur.n++;
      sums.set(k, cur);
    }
  const xs = a.values.map(String);
  const ys = b.values.map(String);
  const data: Array<[number, number, number]> = [];
  for (let i = 0; i < xs.length; i++)
    for (let j = 0; j < ys.length; j++) {
      const v = sums.get(`${xs[i]}|${ys[j]}`);
      if (v) data.push([i, j, Number((v.s / v.n).toFixed(3))]);
    }
  const vals = data.map((d) => d[2]);
  const short = (p: string) => p.replace(/^strategy\.params\./, '');
  return renderOption(
    {
      title: title(`${report.objective} by ${short(a.path)} × ${short(b.path)}`, `${report.points} parameter sets`),
      grid: { left: 90, right: 110, top: 70, bottom: 60 },
      xAxis: { type: 'category', data: xs, name: short(a.path), nameLocation: 'middle', nameGap: 30, axisLabel },
      yAxis: { type: 'category', data: ys, name: short(b.path), nameLocation: 'middle', nameGap: 60, axisLabel },
      visualMap: {
        min: vals.length ? Math.min(...vals) : 0,
        max: vals.length ? Math.max(...vals) : 1,
        calculable: false,
        orient: 'vertical',
        right: 10,
        top: 'middle',
        inRange: { color: ['#dc2626', '#fde68a', '#16a34a'] },
        textStyle: { fontFamily: FONT_FAMILY, color: COLORS.muted },
      },
      series: [{ type: 'heatmap', data, label: { show: xs.length * ys.length <= 150, fontFamily: FONT_FAMILY, fontSize: 10 } }],
    } as Option,
    960,
    600,
  );
}

/** Equity of one stress window (and its drawdown). */
export function windowPng(r: RunResult, heading: string): Promise<Buffer> {
  return renderOption(equityDrawdownOption(r, heading), 960, 480);
}

/** Render an option to an SVG string (for the offline HTML report), with this file's chart types registered. */
export const svgOf = (option: Option, width: number, height: number): string => renderSvg(option, width, height);
