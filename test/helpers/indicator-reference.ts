// Shared fixtures for the indicator/strategy tests: a seeded PRNG, synthetic prices, the real-candle loader,
// and naive textbook references (plain loops, O(n·period), fresh sums: slow on purpose, obviously right).
import { existsSync, readFileSync } from 'node:fs';
import type { Candle } from '../../src/core/types.ts';
import { SHARED_DATA } from './shared-data.ts';

export const DATA_DIR = SHARED_DATA;
export const dataFile = (name: string): string => `${DATA_DIR}/${name}`;
export const hasData = (name: string): boolean => existsSync(dataFile(name));

import { mulberry32 } from '../../src/market/generator.ts';

export { mulberry32 };

/** Random-walk closes rounded to cents, around `start`, with ±`step` relative moves. */
export function randomWalk(n: number, seed: number, start = 30_000, step = 0.002): number[] {
  const rnd = mulberry32(seed);
  const out: number[] = [];
  let p = start;
  for (let i = 0; i < n; i++) {
    p *= 1 + (rnd() - 0.5) * 2 * step;
    out.push(Math.round(p * 100) / 100);
  }
  return out;
}

/** Candles from closes: open = previous close, high/low a bit outside, 1m bars from `t0`. */
export function candlesFromCloses(closes: readonly number[], seed = 7, t0 = 1_700_000_000_000, tfMs = 60_000): Candle[] {
  const rnd = mulberry32(seed);
  return closes.map((close, i) => {
    const open = i === 0 ? close : closes[i - 1]!;
    const high = Math.max(open, close) * (1 + rnd() * 0.001);
    const low = Math.min(open, close) * (1 - rnd() * 0.001);
    return { ts: t0 + i * tfMs, open, high, low, close, volume: 1 };
  });
}

export function loadCandles(name: string): Candle[] {
  const lines = readFileSync(dataFile(name), 'utf8').split('\n');
  const out: Candle[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const [ts, open, high, low, close, volume] = line.split(',').map(Number) as [number, number, number, number, number, number];
    out.push({ ts, open, high, low, close, volume });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Naive references. Index i holds the value after input i; NaN while not ready.

export function refSma(xs: readonly number[], n: number, exactFlat = false): number[] {
  return xs.map((_, i) => {
    if (i < n - 1) return NaN;
    let sum = 0;
    let allSame = true;
    for (let j = i - n + 1; j <= i; j++) {
      sum += xs[j]!;
      if (xs[j] !== xs[i]) allSame = false;
    }
    // The mean of n identical values is that value; a fresh float sum may miss it by an ulp.
    return exactFlat && allSame ? xs[i]! : sum / n;
  });
}

export function refEma(xs: readonly number[], n: number): number[] {
  const a = 2 / (n + 1);
  const out: number[] = [];
  let prev = NaN;
  for (let i = 0; i < xs.length; i++) {
    if (i < n - 1) out.push(NaN);
    else if (i === n - 1) {
      let s = 0;
      for (let j = 0; j < n; j++) s += xs[j]!;
      prev = s / n;
      out.push(prev);
    } else {
      prev = a * xs[i]! + (1 - a) * prev;
      out.push(prev);
    }
  }
  return out;
}

export function refRsi(xs: readonly number[], n: number): number[] {
  const out: number[] = [NaN];
  let avgGain = 0;
  let avgLoss = 0;
  for (let i = 1; i < xs.length; i++) {
    const ch = xs[i]! - xs[i - 1]!;
    const gain = Math.max(ch, 0);
    const loss = Math.max(-ch, 0);
    if (i < n) {
      avgGain += gain;
      avgLoss += loss;
      out.push(NaN);
      continue;
    }
    if (i === n) {
      avgGain = (avgGain + gain) / n;
      avgLoss = (avgLoss + loss) / n;
    } else {
      avgGain = (avgGain * (n - 1) + gain) / n;
      avgLoss = (avgLoss * (n - 1) + loss) / n;
    }
    if (avgLoss === 0) out.push(avgGain === 0 ? 50 : 100);
    else out.push(100 - 100 / (1 + avgGain / avgLoss));
  }
  return out;
}

export interface RefBands {
  mid: number[];
  upper: number[];
  lower: number[];
  sd: number[];
}

/** exactFlat: middle of a flat window is its value, so σ comes out exactly 0 (as in ours). */
export function refBollinger(xs: readonly number[], n: number, k: number, exactFlat = false): RefBands {
  const mid = refSma(xs, n, exactFlat);
  const sd = xs.map((_, i) => {
    if (i < n - 1) return NaN;
    let s = 0;
    for (let j = i - n + 1; j <= i; j++) s += (xs[j]! - mid[i]!) ** 2;
    return Math.sqrt(s / n); // population stdev
  });
  return { mid, sd, upper: mid.map((m, i) => m + k * sd[i]!), lower: mid.map((m, i) => m - k * sd[i]!) };
}

export interface RefMacd {
  macd: number[];
  signal: number[];
  histogram: number[];
}

export function refMacd(xs: readonly number[], fast: number, slow: number, signal: number): RefMacd {
  const f = refEma(xs, fast);
  const s = refEma(xs, slow);
  const macd = xs.map((_, i) => f[i]! - s[i]!); // NaN until slow is ready
  const sig = refEma(macd.slice(slow - 1), signal);
  const sigFull = xs.map((_, i) => (i < slow - 1 ? NaN : sig[i - (slow - 1)]!));
  return { macd, signal: sigFull, histogram: macd.map((m, i) => m - sigFull[i]!) };
}

export function refAtr(candles: readonly Candle[], n: number): number[] {
  const out: number[] = [NaN];
  let atr = 0;
  for (let i = 1; i < candles.length; i++) {
    const c = candles[i]!;
    const pc = candles[i - 1]!.close;
    const tr = Math.max(c.high - c.low, Math.abs(c.high - pc), Math.abs(c.low - pc));
    if (i < n) {
      atr += tr;
      out.push(NaN);
    } else if (i === n) {
      atr = (atr + tr) / n;
      out.push(atr);
    } else {
      atr = (atr * (n - 1) + tr) / n;
      out.push(atr);
    }
  }
  return out;
}

/** Largest |a−b| / max(|b|, floor) over indices where the reference is defined; also checks NaN alignment. */
export function maxRelErr(
  actual: readonly number[],
  expected: readonly number[],
  floor = 1,
): { err: number; at: number; nanMismatch: number } {
  let err = 0;
  let at = -1;
  let nanMismatch = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e) !== Number.isNaN(a)) {
      if (nanMismatch < 0) nanMismatch = i;
      continue;
    }
    if (Number.isNaN(e)) continue;
    const r = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (r > err) {
      err = r;
      at = i;
    }
  }
  return { err, at, nanMismatch };
}
