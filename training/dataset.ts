// Training rows from candles: the live feature pipeline on every candle the bot's validator accepts, and the
// forward return over the label's horizon.
import { TIMEFRAME_MS, type Candle, type Timeframe } from '../src/core/types.ts';
import { loadCandles } from '../src/market/csv.ts';
import { detectTimeframe } from '../src/market/feed.ts';
import { CandleValidator } from '../src/market/validator.ts';
import { FeaturePipeline, type FeatureSpec } from '../src/models/features.ts';

/** The trainer's feature set: returns, volatility, RSI, MACD, %b, ATR, volume z-score, candle shape, time. */
export const DEFAULT_FEATURES: FeatureSpec[] = [
  { name: 'ret_1', fn: 'ret', window: 1 },
  { name: 'ret_5', fn: 'ret', window: 5 },
  { name: 'ret_15', fn: 'ret', window: 15 },
  { name: 'logret_60', fn: 'logret', window: 60 },
  { name: 'vol_20', fn: 'vol', window: 20 },
  { name: 'vol_60', fn: 'vol', window: 60 },
  { name: 'rsi_14', fn: 'rsi', window: 14 },
  { name: 'macd', fn: 'macd', params: { fast: 12, slow: 26, signal: 9 } },
  { name: 'bb_pctb_20', fn: 'bb_pctb', window: 20, params: { k: 2 } },
  { name: 'atr_14', fn: 'atr', window: 14 },
  { name: 'volume_z_20', fn: 'volume_z', window: 20 },
  { name: 'sma_ratio_50', fn: 'sma_ratio', window: 50 },
  { name: 'ema_ratio_20', fn: 'ema_ratio', window: 20 },
  { name: 'body', fn: 'body' },
  { name: 'upper_wick', fn: 'upper_wick' },
  { name: 'lower_wick', fn: 'lower_wick' },
  { name: 'hour_sin', fn: 'hour_sin' },
  { name: 'hour_cos', fn: 'hour_cos' },
  { name: 'dow_sin', fn: 'dow_sin' },
  { name: 'dow_cos', fn: 'dow_cos' },
];

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
