// Training rows from candles: the live feature pipeline on every candle the bot's validator accepts, and the
// forward return over the label's horizon.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import { TIMEFRAME_MS, type Candle, type Timeframe } from '../src/core/types.ts';
import { loadCandles } from '../src/market/csv.ts';
import { detectTimeframe } from '../src/market/feed.ts';
import { CandleValidator } from '../src/market/validator.ts';
import { FeaturePipeline, type FeatureSpec } from '../src/models/features.ts';

/** The trainer's feature set (shared with train_torch.py): returns, volatility, RSI, MACD, %b, ATR, volume z-score, candle shape, time. */
export const DEFAULT_FEATURES: FeatureSpec[] = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'training', 'default-features.json'), 'utf8'),
) as FeatureSpec[];

export interface Rows {
  /** Row-major features, `width` per row. */
  x: Float64Array;
  width: number;
  /** Forward return over the horizon. */
  ret: Float64Array;
  /** Index of the row's candle in `candles`. */
  index: Int32Array;
  candles: Candle[];
  timeframe: Timeframe;
  get length(): number;
}

/** The candles the bot would act on (the validator's accepted ones), and the file's timeframe. */
export function readCandles(file: string): { candles: Candle[]; timeframe: Timeframe } {
  const all = loadCandles(file);
  const timeframe = detectTimeframe(all);
  const v = new CandleValidator('X/USDT', timeframe);
  return { candles: all.filter((c) => v.check(c).accepted), timeframe };
}

/** Features of every candle once warm, with the return `horizon` bars later (rows without one are dropped). */
export function buildRows(candles: Candle[], timeframe: Timeframe, specs: readonly FeatureSpec[], horizon: number): Rows {
  const pipe = new FeaturePipeline(specs);
  const w = pipe.size;
  const tf = TIMEFRAME_MS[timeframe];
  const x: number[] = [];
  const ret: number[] = [];
  const index: number[] = [];
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    if (!pipe.update(c)) continue;
    const later = candles[i + horizon];
    // The horizon is in bars of time: a gap inside it would mislabel the row.
    if (later === undefined || later.ts !== c.ts + horizon * tf) continue;
    for (let k = 0; k < w; k++) x.push(pipe.values[k]!);
    ret.push(later.close / c.close - 1);
    index.push(i);
  }
  return {
    x: Float64Array.from(x),
    width: w,
    ret: Float64Array.from(ret),
    index: Int32Array.from(index),
    candles,
    timeframe,
    get length() {
      return ret.length;
    },
  };
}

/** Column means and population variances of row-major data. */
export function moments(x: Float64Array, width: number): { mean: number[]; var: number[] } {
  const n = x.length / width;
  const mean = new Array<number>(width).fill(0);
  const v = new Array<number>(width).fill(0);
  for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) mean[k]! += x[i * width + k]!;
  for (let k = 0; k < width; k++) mean[k]! /= n;
  for (let i = 0; i < n; i++)
    for (let k = 0; k < width; k++) {
      const d = x[i * width + k]! - mean[k]!;
      v[k]! += d * d;
    }
  for (let k = 0; k < width; k++) v[k]! /= n;
  return { mean, var: v };
}
