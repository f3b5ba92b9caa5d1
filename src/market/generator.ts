// Seeded synthetic candles for tests and benches: a geometric random walk with intra-bar highs/lows and
// log-normal volume. Same options + seed → same candles, on every machine.

import { TIMEFRAME_MS, type Candle, type Timeframe } from '../core/types.ts';
import { writeCandlesCsv } from './csv.ts';

/** mulberry32: tiny, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform source. */
export function normalSource(rand: () => number): () => number {
  return () => {
    let u = rand();
    while (u <= 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** Oddities to inject; indexes are bar numbers (0-based, counted before duplicates are added). */
export interface GeneratorOddities {
  /** Skip `length` bars of time before bar `at` (a gap of `length` missing candles). */
  gaps?: Array<{ at: number; length: number }>;
  /** Repeat bar i right after itself (identical duplicate). */
  duplicates?: number[];
  /** Bars [at, at + length) are flat (O=H=L=C = previous close) with zero volume, like a trading halt. */
  flatRuns?: Array<{ at: number; length: number }>;
  /** Shift bar i's ts off the grid by `misalignMs` (default 14_800 ms, like Binance's 2018 quirk). */
  misaligned?: number[];
  misalignMs?: number;
  /** Bar i gets close = NaN. */
  nan?: number[];
}

export interface GeneratorOptions {
  /** Number of bars (duplicates are extra rows; gaps do not consume bars). */
  count: number;
  /** Open time of the first bar (default 2024-01-01T00:00Z). Should be on the timeframe grid. */
  startTs?: number;
  timeframe?: Timeframe;
  startPrice?: number;
  /** Standard deviation of the per-bar log return (default 0.002). */
  volatility?: number;
  /** Mean per-bar log return (default 0). */
  drift?: number;
  seed?: number;
  /** Median volume per bar (default 10). */
  baseVolume?: number;
  /** Decimals prices are rounded to (default 2). */
  priceDecimals?: number;
  oddities?: GeneratorOddities;
}

const DEFAULT_START = Date.UTC(2024, 0, 1);

const roundTo = (x: number, d: number): number => {
  const f = 10 ** d;
  return Math.round(x * f) / f;
};

/** Lazily generate candles (constant memory): use for 1M+ rows. */
export function* generateCandleStream(opts: GeneratorOptions): Generator<Candle> {
  const tfMs = TIMEFRAME_MS[opts.timeframe ?? '1m'];
  const vol = opts.volatility ?? 0.002;
  const drift = opts.drift ?? 0;
  const baseVolume = opts.baseVolume ?? 10;
  const dec = opts.priceDecimals ?? 2;
  const minPrice = 10 ** -dec;
  const rand = mulberry32(opts.seed ?? 1);
  const normal = normalSource(rand);
  const odd = opts.oddities ?? {};
  const gaps = new Map((odd.gaps ?? []).map((g) => [g.at, g.length]));
  const dups = new Set(odd.duplicates ?? []);
  const mis = new Set(odd.misaligned ?? []);
  const nans = new Set(odd.nan ?? []);
  const flat = new Set<number>();
  for (const r of odd.flatRuns ?? []) for (let i = r.at; i < r.at + r.length; i++) flat.add(i);
  const misMs = odd.misalignMs ?? 14_800;

  let ts = opts.startTs ?? DEFAULT_START;
  let close = roundTo(opts.startPrice ?? 30_000, dec);
  for (let i = 0; i < opts.count; i++) {
    ts += (gaps.get(i) ?? 0) * tfMs;
    // Draw the same number of randoms for every bar so oddities do not shift the rest of the series.
    const r = normal();
    const up = Math.abs(normal());
    const down = Math.abs(normal());
    const v = normal();
    const open = close;
    let c: Candle;
    if (flat.has(i)) {
      c = { ts, open, high: open, low: open, close: open, volume: 0 };
    } else {
      const cl = Math.max(minPrice, roundTo(open * Math.exp(drift + vol * r), dec));
      const high = roundTo(Math.max(open, cl) * Math.exp(0.5 * vol * up), dec);
      const low = Math.max(minPrice, roundTo(Math.min(open, cl) * Math.exp(-0.5 * vol * down), dec));
      const volume = roundTo(baseVolume * Math.exp(0.5 * v), 6);
      c = { ts, open, high: Math.max(high, open, cl), low: Math.min(low, open, cl), close: cl, volume };
      close = cl;
    }
    if (mis.has(i)) c.ts += misMs;
    if (nans.has(i)) c.close = NaN;
    yield c;
    if (dups.has(i)) yield { ...c };
    ts += tfMs;
  }
}

/** Generate candles into an array (tests). */
export function generateCandles(opts: GeneratorOptions): Candle[] {
  return [...generateCandleStream(opts)];
}

/** Write `n` synthetic 1m candles to a CSV, streamed to disk (benches: 1M+ rows without the memory). */
export async function generateCsv(path: string, n: number, seed = 1, opts: Partial<GeneratorOptions> = {}): Promise<void> {
  await writeCandlesCsv(path, generateCandleStream({ ...opts, count: n, seed }));
}
