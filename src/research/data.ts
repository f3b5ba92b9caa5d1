// Candle and funding data for research runs: files loaded once per process (workers run many
// backtests on the same files), resampled up to the config's timeframe, cut to a window.
import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { TIMEFRAME_MS, TIMEFRAMES, type Candle, type Timeframe } from '../core/types.ts';
import { errorMessage } from '../core/errors.ts';
import { loadCandles } from '../market/csv.ts';
import { detectTimeframe } from '../market/feed.ts';
import { resampleAll } from '../market/resample.ts';
import { isoUtc } from '../market/validator.ts';

/** A funding rate of a perpetual at a funding time (positive: longs pay shorts). */
export type FundingRate = [ts: number, rate: number];

interface Loaded {
  mtimeMs: number;
  candles: Candle[];
  timeframe: Timeframe;
}

const cache = new Map<string, Loaded>();
const CACHE_FILES = 8;

/** A candle file, parsed once per process while it is unchanged. */
export function loadSeries(path: string): Loaded {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`data file not found: ${path}`);
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit;
  const candles = loadCandles(path);
  if (candles.length < 2) throw new Error(`${path}: fewer than two candles`);
  const timeframe = fileTimeframe(path, candles);
  const loaded = { mtimeMs: st.mtimeMs, candles, timeframe };
  if (cache.size >= CACHE_FILES) cache.delete(cache.keys().next().value!);
  cache.set(path, loaded);
  return loaded;
}

/**
 * The timeframe of a candle file: the usual spacing of its candles; the file name's (…_1h_….csv) only
 * when the candles cannot tell (fewer than two), since a name can lie.
 */
export function fileTimeframe(path: string, candles: readonly Candle[]): Timeframe {
  try {
    return detectTimeframe(candles);
  } catch (e) {
    const named = guessFromName(path).timeframe;
    if (named) return named;
    throw new Error(`${path}: ${errorMessage(e)}`);
  }
}

/** First and last candle open times of a series (file order is time order in practice). */
export function seriesRange(candles: readonly Candle[]): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const c of candles) {
    if (c.ts < first) first = c.ts;
    if (c.ts > last) last = c.ts;
  }
  return { first, last };
}

/**
 * The candles of `source` for `timeframe` in [from, to), plus up to `warmup` candles before `from`.
 * A finer file is resampled (after dropping invalid, duplicate and unsorted rows); a coarser one is
 * refused, and so is a window the file does not cover. Errors name the file.
 */
export function windowCandles(
  label: string,
  series: { candles: readonly Candle[]; timeframe: Timeframe },
  timeframe: Timeframe,
  win: { from?: number | undefined; to?: number | undefined; warmup: number },
): { warm: Candle[]; run: Candle[] } {
  const tfFile = TIMEFRAME_MS[series.timeframe];
  const tf = TIMEFRAME_MS[timeframe];
  if (tfFile > tf)
    throw new Error(
      `${label} has ${series.timeframe} candles, coarser than market.timeframe ${timeframe}: use a file at ${timeframe} or finer, or set market.timeframe`,
    );
  const { first, last } = seriesRange(series.candles);
  const from = win.from ?? first;
  const to = win.to ?? last + tfFile;
  if (!(from < to)) throw new Error(`empty window ${isoUtc(from)} … ${isoUtc(to)}`);
  if (from < first || to > last + tfFile)
    throw new Error(
      `${label} covers ${isoUtc(first)} … ${isoUtc(last + tfFile)}, not the requested window ${isoUtc(from)} … ${isoUtc(to)}`,
    );
  let src: readonly Candle[] = series.candles;
  if (tfFile < tf) src = resampleAll(cleanSorted(series.candles), tfFile, tf);
  const run: Candle[] = [];
  const before: Candle[] = [];
  for (const c of src) {
    if (c.ts >= from && c.ts < to) run.push(c);
    else if (c.ts < from) before.push(c);
  }
  return { warm: win.warmup > 0 ? before.slice(-win.warmup) : [], run };
}

/** Finite, positive-time rows, sorted by time, one per timestamp (the resampler needs that). */
function cleanSorted(candles: readonly Candle[]): Candle[] {
  const ok = candles.filter((c) => Number.isFinite(c.ts + c.open + c.high + c.low + c.close + c.volume));
  ok.sort((a, b) => a.ts - b.ts);
  return ok.filter((c, i) => i === 0 || c.ts !== ok[i - 1]!.ts);
}

/** Funding rates CSV: `timestamp_ms,rate` with a header line. */
export function loadFunding(path: string): FundingRate[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`funding file not found: ${path}`);
  }
  const out: FundingRate[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [a, b] = line.split(',');
    const ts = Number(a);
    const rate = Number(b);
    if (!Number.isFinite(ts) || !Number.isFinite(rate))
      throw new Error(`${path} line ${i + 1}: expected timestamp_ms,rate, got "${line.slice(0, 80)}"`);
    out.push([ts, rate]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

/** binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv → BTC/USDT, 1m */
export function guessFromName(file: string): { symbol?: string; timeframe?: Timeframe } {
  const m = /([A-Z0-9]{2,12}?)(USDT|USDC|BUSD|BTC|ETH)_(\d+[mhd])/.exec(basename(file));
  if (!m) return {};
  const tf = (TIMEFRAMES as readonly string[]).includes(m[3]!) ? (m[3] as Timeframe) : undefined;
  return { symbol: `${m[1]}/${m[2]}`, ...(tf ? { timeframe: tf } : {}) };
}

/** "BTC/USDT=a.csv,ETH/USDT=b.csv" (or one bare path for a single-symbol config) → { symbol: path }. */
export function parseDataArg(spec: string, symbols: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',').filter((p) => p.trim() !== '')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const sym = symbols.length === 1 ? symbols[0] : guessFromName(part).symbol;
      if (!sym) throw new Error(`--data ${part}: name the symbol, e.g. --data BTC/USDT=${part}`);
      out[sym] = resolve(part.trim());
    } else out[part.slice(0, eq).trim()] = resolve(part.slice(eq + 1).trim());
  }
  // Absolute: a queued sweep's workers may run in another directory (the jobs carry the paths).
  return out;
}
