// Shared pieces of the built-in strategies: parameter checks, crossover state, close time, ATR stops, signals.
import type { Candle, Signal, SignalAction } from '../../core/types.ts';
import { price } from '../../core/format.ts';
import { Atr } from '../indicators.ts';
import type { Strategy, StrategyContext, StrategyParams } from '../types.ts';

/**
 * Parameters every built-in accepts besides its own:
 * - atrStop: stop distance in ATRs put on entry signals (0 = none: the engine uses its configured stop).
 * - atrPeriod: ATR period for atrStop.
 * - timeframeMs: candle length, so a signal's ts is the candle close (candle.ts + timeframeMs). The engine
 *   should pass it; 0 = infer it as the smallest gap seen between consecutive candles.
 */
export const COMMON_DEFAULTS: Readonly<{ atrStop: number; atrPeriod: number; timeframeMs: number }> = {
  atrStop: 0,
  atrPeriod: 14,
  timeframeMs: 0,
};

/** A strategy's wrong parameters, each with its name: config checks key them as strategy.params.<key>. */
export class ParamError extends Error {
  constructor(readonly problems: ReadonlyArray<{ key: string; message: string }>) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'ParamError';
  }
}

/**
 * A strategy's parameter checks, all of them before it throws: a config check names every wrong key at
 * once. A key already found wrong is not checked again (one message per key).
 */
export class ParamChecks {
  private readonly problems: Array<{ key: string; message: string }> = [];

  constructor(private readonly strategy: string) {}

  private bad(key: string): boolean {
    return this.problems.some((p) => p.key === key);
  }

  private add(key: string, message: string): this {
    if (!this.bad(key)) this.problems.push({ key, message: `${this.strategy}: ${message}` });
    return this;
  }

  /** Defaults merged with `params`; unknown names and non-finite values are problems. */
  resolve<D extends StrategyParams>(defaults: D, params: StrategyParams): D {
    for (const key of Object.keys(params)) {
      const v: unknown = params[key];
      if (!Object.hasOwn(defaults, key))
        this.add(key, `unknown parameter "${key}"; accepted parameters: ${Object.keys(defaults).join(', ')}`);
      else if (typeof v !== 'number' || !Number.isFinite(v)) this.add(key, `parameter "${key}" must be a finite number, got ${String(v)}`);
    }
    const out = { ...defaults, ...params };
    this.int('atrPeriod', out.atrPeriod ?? 14, 1).int('timeframeMs', out.timeframeMs ?? 0, 0);
    const atrStop = out.atrStop ?? 0;
    if (!(atrStop >= 0)) this.add('atrStop', `atrStop must be ≥ 0 (in ATRs, 0 = no stop), got ${atrStop}`);
    return out;
  }

  int(key: string, v: number, min: number): this {
    return !Number.isInteger(v) || v < min ? this.add(key, `${key} must be an integer ≥ ${min}, got ${v}`) : this;
  }

  range(key: string, v: number, min: number, max: number): this {
    return !(v >= min && v <= max) ? this.add(key, `${key} must be between ${min} and ${max}, got ${v}`) : this;
  }

  positive(key: string, v: number): this {
    return !(v > 0) ? this.add(key, `${key} must be > 0, got ${v}`) : this;
  }

  /** fast < slow (checked when both are otherwise right). */
  less(aKey: string, a: number, bKey: string, b: number): this {
    if (this.bad(aKey) || this.bad(bKey)) return this;
    return !(a < b) ? this.add(aKey, `${aKey} (${a}) must be less than ${bKey} (${b})`) : this;
  }

  /** Throws every problem found, if any. */
  done(): void {
    if (this.problems.length > 0) throw new ParamError(this.problems);
  }
}

/**
 * Crossover of a difference through 0, remembering the last non-zero difference: a cross up is diff > 0 now
 * while the last non-zero diff before was < 0 (down: mirrored). diff == 0 changes nothing, and nothing can
 * cross before the first non-zero diff. Feed only ready (non-NaN) diffs.
 */
export class Crossing {
  private last = 0;

  /** +1 crossed up, −1 crossed down, 0 neither. */
  update(diff: number): number {
    const last = this.last;
    if (diff > 0) {
      this.last = diff;
      return last < 0 ? 1 : 0;
    }
    if (diff < 0) {
      this.last = diff;
      return last > 0 ? -1 : 0;
    }
    return 0;
  }
}

/**
 * The trend-following action for a crossover (sma-cross contract, also used by ema-cross and macd).
 * Up: flat and nothing pending → enter_long; short → enter_long when shorts are allowed (the engine closes
 * the short first), else exit_short. Down mirrors it: long → enter_short when shorts are allowed, else
 * exit_long; flat, shorts allowed, nothing pending → enter_short. Long-only (the reference) never shorts.
 */
export function crossAction(dir: number, ctx: StrategyContext): SignalAction | null {
  const pos = ctx.position;
  if (dir > 0) {
    if (pos === null) return ctx.pending ? null : 'enter_long';
    if (pos === 'short') return ctx.allowShort ? 'enter_long' : 'exit_short';
    return null;
  }
  if (dir < 0) {
    if (pos === 'long') return ctx.allowShort ? 'enter_short' : 'exit_long';
    if (pos === null && ctx.allowShort && !ctx.pending) return 'enter_short';
  }
  return null;
}

/** Candle close time: open time + timeframe, the timeframe given or inferred (smallest positive gap seen). */
export class CloseTime {
  private tf: number;
  private readonly infer: boolean;
  private lastTs = NaN;

  constructor(timeframeMs: number) {
    this.tf = timeframeMs;
    this.infer = !(timeframeMs > 0);
  }

  observe(ts: number): void {
    if (!this.infer) return;
    const gap = ts - this.lastTs; // NaN on the first candle
    if (gap > 0 && (this.tf === 0 || gap < this.tf)) this.tf = gap;
    this.lastTs = ts;
  }

  of(ts: number): number {
    return ts + this.tf;
  }
}

/** Optional ATR stop for entry signals (atrStop = 0: off, and the ATR is not even computed). */
export class AtrStop {
  private readonly mult: number;
  private readonly atr: Atr | null;

  constructor(mult: number, period: number) {
    this.mult = mult;
    this.atr = mult > 0 ? new Atr(period) : null;
  }

  update(candle: Candle): void {
    if (this.atr !== null) this.atr.push(candle);
  }

  /** Stop price for an entry, or undefined (off, ATR not ready yet, or a long stop that would be ≤ 0). */
  stopFor(action: SignalAction, price: number): number | undefined {
    if (this.atr === null || !this.atr.ready) return undefined;
    const d = this.mult * this.atr.value;
    if (action === 'enter_long') return price - d > 0 ? price - d : undefined;
    if (action === 'enter_short') return price + d;
    return undefined;
  }
}

/** Builds a signal (only ever called when one fires). */
export function makeSignal(
  symbol: string,
  action: SignalAction,
  ts: number,
  price: number,
  strategy: string,
  reason: string,
  stop: AtrStop,
  features?: Record<string, number>,
): Signal {
  const s: Signal = { symbol, action, ts, price, strategy, reason };
  const stopLoss = stop.stopFor(action, price);
  if (stopLoss !== undefined) s.stopLoss = stopLoss;
  if (features) s.features = features;
  return s;
}

/** Numbers in reason strings: 2 decimals, more for small prices (one conversion: signals are frequent in backtests). */
export const fmt = (x: number): string => (Math.abs(x) >= 1 ? price(x, 0.01) : x.toPrecision(6));

/**
 * A strategy that trades the crossing of two lines (fast/slow averages, MACD/signal): the candle
 * bookkeeping, the last-non-zero crossing rule, the actions (crossAction) and the signal are shared;
 * a subclass only updates its indicators and names what crossed. Subclass fields `a` and `b` are the
 * two lines after `update`.
 */
export abstract class LineCross implements Strategy {
  abstract readonly name: string;
  abstract readonly warmup: number;
  private readonly cross = new Crossing();
  private readonly close: CloseTime;
  private readonly stop: AtrStop;
  /** The two lines after the last update (NaN until ready). */
  protected a = NaN;
  protected b = NaN;

  constructor(
    readonly symbol: string,
    p: { timeframeMs: number; atrStop: number; atrPeriod: number },
  ) {
    this.close = new CloseTime(p.timeframeMs);
    this.stop = new AtrStop(p.atrStop, p.atrPeriod);
  }

  /** Feed the close to the indicators and set `a` and `b`; false while not ready. */
  protected abstract update(close: number): boolean;
  /** a − b as the crossing sees it (a subclass may snap float noise to an exact 0). */
  protected diff(): number {
    return this.a - this.b;
  }
  /** Plain words for the reason, e.g. "SMA10 crossed above SMA30". */
  protected abstract describe(up: boolean): string;
  protected abstract features(): Record<string, number>;

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    if (!this.update(candle.close)) return null;
    const dir = this.cross.update(this.diff());
    if (dir === 0) return null;
    const action = crossAction(dir, ctx);
    if (action === null) return null;
    const up = dir > 0;
    const reason = `${this.describe(up)} (${fmt(this.a)} ${up ? '>' : '<'} ${fmt(this.b)})`;
    return makeSignal(this.symbol, action, this.close.of(candle.ts), candle.close, this.name, reason, this.stop, this.features());
  }
}
