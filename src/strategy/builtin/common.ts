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

/** A strategy parameter that is wrong, with its name: config checks key it as strategy.params.<key>. */
export class ParamError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParamError';
  }
}

/** Defaults merged with `params`; throws on unknown names and non-finite values. */
export function resolveParams<D extends StrategyParams>(strategy: string, defaults: D, params: StrategyParams): D {
  for (const key of Object.keys(params)) {
    if (!Object.hasOwn(defaults, key)) {
      throw new ParamError(key, `${strategy}: unknown parameter "${key}"; accepted parameters: ${Object.keys(defaults).join(', ')}`);
    }
    const v: unknown = params[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ParamError(key, `${strategy}: parameter "${key}" must be a finite number, got ${String(v)}`);
  }
  const out = { ...defaults, ...params };
  requireInt(strategy, 'atrPeriod', out.atrPeriod ?? 14, 1);
  requireInt(strategy, 'timeframeMs', out.timeframeMs ?? 0, 0);
  const atrStop = out.atrStop ?? 0;
  if (!(atrStop >= 0)) throw new ParamError('atrStop', `${strategy}: atrStop must be ≥ 0 (in ATRs, 0 = no stop), got ${atrStop}`);
  return out;
}

export function requireInt(strategy: string, key: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ParamError(key, `${strategy}: ${key} must be an integer ≥ ${min}, got ${v}`);
}

export function requireRange(strategy: string, key: string, v: number, min: number, max: number): void {
  if (!(v >= min && v <= max)) throw new ParamError(key, `${strategy}: ${key} must be between ${min} and ${max}, got ${v}`);
}

/** fast < slow, or a clear error. */
export function requireLess(strategy: string, aKey: string, a: number, bKey: string, b: number): void {
  if (!(a < b)) throw new ParamError(aKey, `${strategy}: ${aKey} (${a}) must be less than ${bKey} (${b})`);
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
