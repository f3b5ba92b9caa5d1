// Walk-forward windows and the stitched out-of-sample equity.
import { DAY_MS } from '../core/clock.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import { reportedCagr, spanDays } from '../engine/cagr-span.ts';
import type { RunResult } from './run-config.ts';

export interface Span {
  n: number;
  unit: 'h' | 'd' | 'w' | 'm' | 'y';
}

export interface WalkForwardSpec {
  train: Span;
  test: Span;
  anchored: boolean;
}

export interface WfWindow {
  index: number;
  train: [number, number];
  test: [number, number];
}

function parseSpan(s: string, what: string): Span {
  const m = /^(\d+)\s*([hdwmy])$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`--walk-forward: ${what} "${s}" must be a positive length like 6m, 2w, 10d, 12h or 1y`);
  return { n: Number(m[1]), unit: m[2] as Span['unit'] };
}

/** "6m:1m" → train 6 months, test 1 month (m = months, w = weeks, d, h, y). */
export function parseWalkForward(spec: string, anchored: boolean): WalkForwardSpec {
  const [a, b, extra] = spec.split(':');
  if (a === undefined || b === undefined || extra !== undefined) throw new Error(`--walk-forward ${spec}: write train:test, e.g. 6m:1m`);
  return { train: parseSpan(a, 'train'), test: parseSpan(b, 'test'), anchored };
}

/** ts + k spans; months and years are calendar months (UTC), clamped to the month's last day. */
export function addSpan(ts: number, s: Span, k = 1): number {
  const n = s.n * k;
  switch (s.unit) {
    case 'h':
      return ts + n * 3_600_000;
    case 'd':
      return ts + n * DAY_MS;
    case 'w':
      return ts + n * 7 * DAY_MS;
    default: {
      const d = new Date(ts);
      const months = s.unit === 'y' ? n * 12 : n;
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth() + months;
      const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      return Date.UTC(y, m, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
    }
  }
}

/**
 * Train/test windows over [start, end): test windows follow each other without overlap; the train
 * window before each is rolling (fixed length) or anchored (from `start`).
 */
export function walkForwardWindows(start: number, end: number, wf: WalkForwardSpec): WfWindow[] {
  const out: WfWindow[] = [];
  const firstTestStart = addSpan(start, wf.train);
  for (let k = 0; ; k++) {
    const testStart = addSpan(firstTestStart, wf.test, k);
    const testEnd = addSpan(firstTestStart, wf.test, k + 1);
    if (testEnd > end) break;
    const trainStart = wf.anchored ? start : addSpan(testStart, { ...wf.train, n: -wf.train.n });
    out.push({ index: k, train: [Math.max(start, trainStart), testStart], test: [testStart, testEnd] });
  }
  return out;
}

export interface Stitched {
  equity: Array<[number, number]>;
  total_return: number;
  /** null when the test windows span under 30 days together (engine/cagr-span.ts). */
  cagr: number | null;
  sharpe: number;
  max_drawdown: number;
  trades: number;
  win_rate: number;
}

/** Chain the test windows' equity: each window starts where the previous one ended. */
export function stitch(results: readonly RunResult[], startEquity: number): Stitched {
  const equity: Array<[number, number]> = [];
  const dailyRets: number[] = [];
  let level = startEquity;
  let peak = startEquity;
  let maxDd = 0;
  let trades = 0;
  let wins = 0;
  for (const r of results) {
    const s0 = r.metrics.start_equity;
    const k = s0 > 0 ? level / s0 : 0;
    for (const [ts, e] of r.equity) {
      const v = e * k;
      equity.push([ts, v]);
      if (v > peak) peak = v;
      else if (peak > 0) maxDd = Math.max(maxDd, (peak - v) / peak);
    }
    maxDd = Math.max(maxDd, r.metrics.max_drawdown);
    let prev = s0;
    for (const [, e] of r.daily) {
      if (prev > 0) dailyRets.push(e / prev - 1);
      prev = e;
    }
    trades += r.metrics.trades;
    wins += Math.round(r.metrics.win_rate * r.metrics.trades);
    level = r.final_equity * k;
  }
  const n = dailyRets.length;
  const mean = n ? dailyRets.reduce((a, b) => a + b, 0) / n : 0;
  const sd = n > 1 ? Math.sqrt(dailyRets.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1)) : 0;
  const first = results[0]?.from ?? 0;
  const last = results[results.length - 1]?.to ?? 0;
  const years = (last - first) / (365.25 * DAY_MS);
  const barMs = results[0] ? TIMEFRAME_MS[results[0].timeframe] : 0;
  const ratio = startEquity > 0 ? level / startEquity : 0;
  return {
    equity,
    total_return: ratio - 1,
    cagr: reportedCagr(years > 0 && ratio > 0 ? ratio ** (1 / years) - 1 : 0, spanDays((last - first) / DAY_MS, barMs)),
    sharpe: sd > 0 ? (mean / sd) * Math.sqrt(365) : 0,
    max_drawdown: maxDd,
    trades,
    win_rate: trades ? wins / trades : 0,
  };
}
