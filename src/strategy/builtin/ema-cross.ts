// ema-cross: sma-cross with EMAs (SMA-seeded, α = 2/(n+1)); same crossover and action semantics (see sma-cross.ts).
import type { Candle, Signal } from '../../core/types.ts';
import { Ema } from '../indicators.ts';
import type { Strategy, StrategyContext, StrategyFactory, StrategyParams } from '../types.ts';
import {
  AtrStop,
  CloseTime,
  COMMON_DEFAULTS,
  Crossing,
  crossAction,
  fmt,
  makeSignal,
  requireInt,
  requireLess,
  resolveParams,
} from './common.ts';

const NAME = 'ema-cross';
const DEFAULTS = Object.freeze({ fast: 12, slow: 26, ...COMMON_DEFAULTS });

export class EmaCross implements Strategy {
  readonly name = NAME;
  readonly symbol: string;
  readonly warmup: number;
  private readonly fast: Ema;
  private readonly slow: Ema;
  private readonly cross = new Crossing();
  private readonly close: CloseTime;
  private readonly stop: AtrStop;

  constructor(symbol: string, p: typeof DEFAULTS) {
    this.symbol = symbol;
    this.fast = new Ema(p.fast);
    this.slow = new Ema(p.slow);
    this.close = new CloseTime(p.timeframeMs);
    this.stop = new AtrStop(p.atrStop, p.atrPeriod);
    this.warmup = p.slow; // both ready at index slow−1, which cannot cross
  }

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    this.fast.push(candle.close);
    this.slow.push(candle.close);
    const s = this.slow.value;
    if (s !== s) return null; // slow not ready (fast < slow, so fast is ready whenever slow is)
    const f = this.fast.value;
    const dir = this.cross.update(f - s);
    if (dir === 0) return null;
    const action = crossAction(dir, ctx);
    if (action === null) return null;
    const p = this.fast.period;
    const q = this.slow.period;
    const reason =
      dir > 0 ? `EMA${p} crossed above EMA${q} (${fmt(f)} > ${fmt(s)})` : `EMA${p} crossed below EMA${q} (${fmt(f)} < ${fmt(s)})`;
    return makeSignal(this.symbol, action, this.close.of(candle.ts), candle.close, NAME, reason, this.stop, { fast: f, slow: s });
  }
}

export const emaCross: StrategyFactory = {
  name: NAME,
  description: 'Trend following: long when EMA(fast) crosses above EMA(slow), out when it crosses below.',
  defaults: DEFAULTS,
  create(symbol: string, params: StrategyParams): Strategy {
    const p = resolveParams(NAME, DEFAULTS, params);
    requireInt(NAME, 'fast', p.fast, 1);
    requireInt(NAME, 'slow', p.slow, 2);
    requireLess(NAME, 'fast', p.fast, 'slow', p.slow);
    return new EmaCross(symbol, p);
  },
};
