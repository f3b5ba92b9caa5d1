// Streaming OHLCV aggregation (1m → 5m, 1h → 1d, ...). Buckets are aligned to multiples of the target
// duration since the Unix epoch, i.e. to UTC: 1h at hh:00, 1d at 00:00 UTC.

import { TIMEFRAME_MS, type Candle, type Timeframe } from '../core/types.ts';

/** A timeframe name or a duration in ms (any multiple of the source, e.g. 7 * 60_000). */
export type TimeframeLike = Timeframe | number;

export const timeframeMs = (tf: TimeframeLike): number => {
  const ms = typeof tf === 'number' ? tf : TIMEFRAME_MS[tf];
  if (!(Number.isInteger(ms) && ms > 0)) throw new Error(`not a timeframe: ${String(tf)}`);
  return ms;
};

/**
 * Aggregates candles of `fromTf` into buckets of `toTf`. Feed validated candles in time order
 * (candles not strictly after the previous one are ignored and counted in `dropped`).
 *
 * A bucket is emitted as soon as it is closed: its last constituent arrived, or a candle of a later
 * bucket arrived (then the bucket is partial). Usage, since one push can close two buckets (a partial
 * one, and the new candle's own bucket when that candle is its last constituent):
 *
 *   for (let b = r.push(c); b; b = r.shift()) use(b, r.lastComplete);
 *
 * Side channel: after each non-null `push`/`shift`/`flush`, `lastComplete` says whether the returned
 * bucket had all its constituents and `lastCount` how many it had.
 */
export class Resampler {
  readonly fromMs: number;
  readonly toMs: number;
  /** Constituents per full bucket. */
  readonly ratio: number;
  lastComplete = false;
  lastCount = 0;
  /** Input candles ignored because they were not after the previous one. */
  dropped = 0;

  private cur: Candle | null = null;
  private curCount = 0;
  private lastTs = -Infinity;
  // At most one closed bucket waiting for shift().
  private ready: Candle | null = null;
  private readyCount = 0;

  constructor(fromTf: TimeframeLike, toTf: TimeframeLike) {
    this.fromMs = timeframeMs(fromTf);
    this.toMs = timeframeMs(toTf);
    if (this.toMs < this.fromMs || this.toMs % this.fromMs !== 0) {
      throw new Error(`cannot resample ${String(fromTf)} into ${String(toTf)}: the target must be a multiple of the source`);
    }
    this.ratio = this.toMs / this.fromMs;
  }

  /** Start of the bucket holding ts. */
  bucketOf(ts: number): number {
    return ts - (((ts % this.toMs) + this.toMs) % this.toMs);
  }

  push(c: Candle): Candle | null {
    if (!(c.ts > this.lastTs)) {
      this.dropped++;
      return null;
    }
    this.lastTs = c.ts;
    const start = this.bucketOf(c.ts);
    let out: Candle | null = null;
    let outCount = 0;
    const cur = this.cur;
    if (cur !== null && start !== cur.ts) {
      // A later bucket began: the current one is closed, with whatever it had.
      out = cur;
      outCount = this.curCount;
      this.cur = null;
    }
    if (this.cur === null) {
      this.cur = { ts: start, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
      this.curCount = 1;
    } else {
      const b = this.cur;
      if (c.high > b.high) b.high = c.high;
      if (c.low < b.low) b.low = c.low;
      b.close = c.close;
      b.volume += c.volume;
      this.curCount++;
    }
    if (c.ts === start + this.toMs - this.fromMs) {
      // Last constituent arrived: this bucket is closed too.
      const done = this.cur;
      const n = this.curCount;
      this.cur = null;
      if (out === null) {
        out = done;
        outCount = n;
      } else {
        this.ready = done;
        this.readyCount = n;
      }
    }
    if (out === null) return null;
    return this.emit(out, outCount);
  }

  /** The second bucket closed by the last push, if any. */
  shift(): Candle | null {
    const b = this.ready;
    if (b === null) return null;
    this.ready = null;
    return this.emit(b, this.readyCount);
  }

  /** End of input: emit the open bucket (usually partial). Call repeatedly until null. */
  flush(): Candle | null {
    const r = this.shift();
    if (r) return r;
    const b = this.cur;
    if (b === null) return null;
    this.cur = null;
    return this.emit(b, this.curCount);
  }

  /** The bucket being built (not yet closed), for display. */
  peek(): Readonly<Candle> | null {
    return this.cur;
  }

  private emit(b: Candle, n: number): Candle {
    this.lastCount = n;
    this.lastComplete = n === this.ratio;
    return b;
  }
}

export interface ResampleOptions {
  /** Drop buckets missing any constituent (default false: keep partial buckets). */
  completeOnly?: boolean;
}

/** Resample a whole series. Input should be validated (sorted, no duplicates). */
export function resampleAll(candles: Iterable<Candle>, fromTf: TimeframeLike, toTf: TimeframeLike, opts: ResampleOptions = {}): Candle[] {
  const r = new Resampler(fromTf, toTf);
  const out: Candle[] = [];
  const keep = (b: Candle): void => {
    if (!opts.completeOnly || r.lastComplete) out.push(b);
  };
  for (const c of candles) for (let b = r.push(c); b; b = r.shift()) keep(b);
  for (let b = r.flush(); b; b = r.flush()) keep(b);
  return out;
}
