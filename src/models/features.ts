// Streaming model features: O(1) per candle, built from a manifest's ordered feature list. The indicators
// are the ones in src/strategy/indicators.ts (one implementation each); training/features.py mirrors this
// file line for line so training features equal live features (checked by the golden files).
import type { Candle } from '../core/types.ts';
import { Atr, Bollinger, Ema, Macd, Rsi, Sma } from '../strategy/indicators.ts';

/** One entry of a manifest's feature list: a name (unique), the function, its window and parameters. */
export interface FeatureSpec {
  name: string;
  fn: string;
  window?: number | undefined;
  params?: Record<string, number> | undefined;
}

interface Feature {
  /** Candles needed before `value` is defined. */
  readonly warmup: number;
  push(c: Candle): void;
  readonly value: number;
}

interface FeatureDef {
  readonly description: string;
  /** Whether `window` is required (true), refused (false). */
  readonly window: boolean;
  /** Accepted parameters with their defaults. */
  readonly params: Readonly<Record<string, number>>;
  make(window: number, p: Readonly<Record<string, number>>): Feature;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const TAU = 2 * Math.PI;

/** The last n + 1 closes (ring), for returns over n bars. */
class CloseRing {
  private readonly buf: Float64Array;
  private head = 0;
  count = 0;
  constructor(readonly n: number) {
    this.buf = new Float64Array(n + 1);
  }
  push(x: number): void {
    this.buf[this.head] = x;
    this.head = this.head === this.n ? 0 : this.head + 1;
    if (this.count <= this.n) this.count++;
  }
  /** Close n bars ago (valid once count > n). */
  get past(): number {
    return this.buf[this.head]!;
  }
}

class Ret implements Feature {
  readonly warmup: number;
  private readonly ring: CloseRing;
  value = NaN;
  constructor(
    n: number,
    private readonly log: boolean,
  ) {
    this.warmup = n + 1;
    this.ring = new CloseRing(n);
  }
  push(c: Candle): void {
    this.ring.push(c.close);
    if (this.ring.count <= this.ring.n) return;
    const r = c.close / this.ring.past;
    this.value = this.log ? Math.log(r) : r - 1;
  }
}

/** Population stdev of the last n one-bar log returns. */
class Vol implements Feature {
  readonly warmup: number;
  private prev = NaN;
  private readonly bb: Bollinger;
  value = NaN;
  constructor(n: number) {
    this.warmup = n + 1;
    this.bb = new Bollinger(n, 2);
  }
  push(c: Candle): void {
    const prev = this.prev;
    this.prev = c.close;
    if (prev !== prev) return;
    this.bb.push(Math.log(c.close / prev));
    if (this.bb.ready) this.value = this.bb.stdev;
  }
}

class RsiFeature implements Feature {
  readonly warmup: number;
  private readonly rsi: Rsi;
  value = NaN;
  constructor(n: number) {
    this.warmup = n + 1;
    this.rsi = new Rsi(n);
  }
  push(c: Candle): void {
    this.rsi.push(c.close);
    if (this.rsi.ready) this.value = this.rsi.value / 100;
  }
}

/** MACD histogram divided by the close (scale-free). */
class MacdHist implements Feature {
  readonly warmup: number;
  private readonly macd: Macd;
  value = NaN;
  constructor(fast: number, slow: number, signal: number) {
    if (!(fast < slow)) throw new Error(`macd: fast (${fast}) must be less than slow (${slow})`);
    this.warmup = slow + signal - 1;
    this.macd = new Macd(fast, slow, signal);
  }
  push(c: Candle): void {
    this.macd.push(c.close);
    if (this.macd.ready) this.value = this.macd.histogram / c.close;
  }
}

/** Bollinger %b: where the close sits between the bands (0.5 when the window is flat). */
class PctB implements Feature {
  readonly warmup: number;
  private readonly bb: Bollinger;
  value = NaN;
  constructor(n: number, k: number) {
    this.warmup = n;
    this.bb = new Bollinger(n, k);
  }
  push(c: Candle): void {
    this.bb.push(c.close);
    if (!this.bb.ready) return;
    const width = this.bb.upper - this.bb.lower;
    this.value = width > 0 ? (c.close - this.bb.lower) / width : 0.5;
  }
}

/** ATR divided by the close. */
class AtrFeature implements Feature {
  readonly warmup: number;
  private readonly atr: Atr;
  value = NaN;
  constructor(n: number) {
    this.warmup = n + 1;
    this.atr = new Atr(n);
  }
  push(c: Candle): void {
    this.atr.push(c);
    if (this.atr.ready) this.value = this.atr.value / c.close;
  }
}

/** z-score of the volume within its last n values (0 when they are all equal). */
class VolumeZ implements Feature {
  readonly warmup: number;
  private readonly bb: Bollinger;
  value = NaN;
  constructor(n: number) {
    this.warmup = n;
    this.bb = new Bollinger(n, 2);
  }
  push(c: Candle): void {
    this.bb.push(c.volume);
    if (!this.bb.ready) return;
    const sd = this.bb.stdev;
    this.value = sd > 0 ? (c.volume - this.bb.middle) / sd : 0;
  }
}

/** close / MA(n) − 1, with the SMA or the EMA. */
class MaRatio implements Feature {
  readonly warmup: number;
  private readonly ma: Sma | Ema;
  value = NaN;
  constructor(n: number, ema: boolean) {
    this.warmup = n;
    this.ma = ema ? new Ema(n) : new Sma(n);
  }
  push(c: Candle): void {
    this.ma.push(c.close);
    if (this.ma.ready) this.value = c.close / this.ma.value - 1;
  }
}

type CandlePart = 'body' | 'upper_wick' | 'lower_wick';
/** Body and wicks as fractions of the candle's range (0 for a candle with no range). */
class Shape implements Feature {
  readonly warmup = 1;
  value = NaN;
  constructor(private readonly part: CandlePart) {}
  push(c: Candle): void {
    const range = c.high - c.low;
    if (!(range > 0)) {
      this.value = 0;
      return;
    }
    const top = c.open > c.close ? c.open : c.close;
    const bottom = c.open < c.close ? c.open : c.close;
    const part = this.part;
    this.value = (part === 'body' ? c.close - c.open : part === 'upper_wick' ? c.high - top : bottom - c.low) / range;
  }
}

/** sin/cos of the candle's open time within the UTC day or the week (weeks start Monday 00:00 UTC). */
class Cyclic implements Feature {
  readonly warmup = 1;
  value = NaN;
  constructor(
    private readonly period: number,
    private readonly offset: number,
    private readonly cos: boolean,
  ) {}
  push(c: Candle): void {
    const phase = (TAU * ((((c.ts + this.offset) % this.period) + this.period) % this.period)) / this.period;
    this.value = this.cos ? Math.cos(phase) : Math.sin(phase);
  }
}

const MONDAY_OFFSET = 3 * DAY_MS; // 1970-01-01 was a Thursday

/** Every feature function a manifest may name. */
export const FEATURES: Readonly<Record<string, FeatureDef>> = Object.freeze({
  ret: { description: 'close / close n bars ago − 1', window: true, params: {}, make: (n) => new Ret(n, false) },
  logret: { description: 'ln(close / close n bars ago)', window: true, params: {}, make: (n) => new Ret(n, true) },
  vol: { description: 'population stdev of the last n one-bar log returns', window: true, params: {}, make: (n) => new Vol(n) },
  rsi: { description: "Wilder's RSI(n) / 100", window: true, params: {}, make: (n) => new RsiFeature(n) },
  macd: {
    description: 'MACD histogram / close',
    window: false,
    params: { fast: 12, slow: 26, signal: 9 },
    make: (_n, p) => new MacdHist(p.fast!, p.slow!, p.signal!),
  },
  bb_pctb: { description: 'Bollinger %b (n, k)', window: true, params: { k: 2 }, make: (n, p) => new PctB(n, p.k!) },
  atr: { description: 'ATR(n) / close', window: true, params: {}, make: (n) => new AtrFeature(n) },
  volume_z: { description: 'z-score of the volume within its last n values', window: true, params: {}, make: (n) => new VolumeZ(n) },
  sma_ratio: { description: 'close / SMA(n) − 1', window: true, params: {}, make: (n) => new MaRatio(n, false) },
  ema_ratio: { description: 'close / EMA(n) − 1', window: true, params: {}, make: (n) => new MaRatio(n, true) },
  body: { description: '(close − open) / (high − low)', window: false, params: {}, make: () => new Shape('body') },
  upper_wick: { description: '(high − max(open, close)) / (high − low)', window: false, params: {}, make: () => new Shape('upper_wick') },
  lower_wick: { description: '(min(open, close) − low) / (high − low)', window: false, params: {}, make: () => new Shape('lower_wick') },
  hour_sin: { description: 'sin of the time of day (UTC)', window: false, params: {}, make: () => new Cyclic(DAY_MS, 0, false) },
  hour_cos: { description: 'cos of the time of day (UTC)', window: false, params: {}, make: () => new Cyclic(DAY_MS, 0, true) },
  dow_sin: {
    description: 'sin of the time of week (UTC)',
    window: false,
    params: {},
    make: () => new Cyclic(WEEK_MS, MONDAY_OFFSET, false),
  },
  dow_cos: {
    description: 'cos of the time of week (UTC)',
    window: false,
    params: {},
    make: () => new Cyclic(WEEK_MS, MONDAY_OFFSET, true),
  },
});

/** Problems with one feature spec (empty when it is fine), each as "field: reason". */
export function featureSpecProblems(spec: FeatureSpec): string[] {
  const def = Object.hasOwn(FEATURES, spec.fn) ? FEATURES[spec.fn] : undefined;
  if (def === undefined) return [`fn: unknown feature "${spec.fn}" (known: ${Object.keys(FEATURES).join(', ')})`];
  const out: string[] = [];
  if (def.window && !(Number.isInteger(spec.window) && spec.window! >= 1)) out.push(`window: "${spec.fn}" needs an integer window ≥ 1`);
  if (!def.window && spec.window !== undefined) out.push(`window: "${spec.fn}" takes no window`);
  for (const [k, v] of Object.entries(spec.params ?? {})) {
    if (!Object.hasOwn(def.params, k))
      out.push(`params.${k}: "${spec.fn}" accepts ${Object.keys(def.params).join(', ') || 'no parameters'}`);
    else if (!Number.isFinite(v)) out.push(`params.${k}: must be a finite number`);
  }
  return out;
}

/** A canonical string of a feature list: two lists with the same key compute the same values. */
export const featureKey = (specs: readonly FeatureSpec[]): string =>
  JSON.stringify(specs.map((s) => [s.fn, s.window ?? null, Object.entries(s.params ?? {}).sort()]));

/**
 * The features of one model, in manifest order. `update` feeds one candle (O(1)) and tells whether every
 * feature is defined; the values are then in `values`. Not thread-safe to share between models with
 * different inputs; `copyFrom` lets a caller compute a candle's features on a scratch copy and commit later.
 */
export class FeaturePipeline {
  readonly names: readonly string[];
  readonly values: Float64Array;
  readonly warmup: number;
  readonly key: string;
  private readonly features: Feature[];
  private seen = 0;

  constructor(specs: readonly FeatureSpec[]) {
    this.names = specs.map((s) => s.name);
    this.key = featureKey(specs);
    this.features = specs.map((s) => {
      const problems = featureSpecProblems(s);
      if (problems.length > 0) throw new Error(`feature "${s.name}": ${problems.join('; ')}`);
      const def = FEATURES[s.fn]!;
      return def.make(s.window ?? 0, { ...def.params, ...s.params });
    });
    this.values = new Float64Array(specs.length);
    this.warmup = this.features.reduce((m, f) => Math.max(m, f.warmup), 0);
  }

  get size(): number {
    return this.values.length;
  }

  get ready(): boolean {
    return this.seen >= this.warmup;
  }

  update(c: Candle): boolean {
    const fs = this.features;
    const v = this.values;
    for (let i = 0; i < fs.length; i++) {
      const f = fs[i]!;
      f.push(c);
      v[i] = f.value;
    }
    this.seen++;
    return this.seen >= this.warmup;
  }

  /** Become an exact copy of `other` (same feature list): O(sum of windows), no allocation. */
  copyFrom(other: FeaturePipeline): void {
    if (other.key !== this.key) throw new Error('FeaturePipeline.copyFrom: different feature lists');
    copyState(this, other);
  }

  /** Name → value, for journaling next to a decision. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) out[this.names[i]!] = this.values[i]!;
    return out;
  }
}

/**
 * Copies the mutable state of one object graph onto another of the same shape (numbers, typed arrays, nested
 * objects). Hand-rolled: structuredClone allocates and drops prototypes; the indicator classes hold plain fields.
 */
function copyState(dst: object, src: object): void {
  const d = dst as Record<string, unknown>;
  const s = src as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    const v = s[k];
    if (v instanceof Float64Array) (d[k] as Float64Array).set(v);
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) copyItem(d[k] as unknown[], v, i);
    else if (typeof v === 'object' && v !== null) copyState(d[k] as object, v);
    else if (typeof v !== 'function') d[k] = v;
  }
}

function copyItem(d: unknown[], s: unknown[], i: number): void {
  const v = s[i];
  if (typeof v === 'object' && v !== null) copyState(d[i] as object, v);
  else d[i] = v;
}
