// sma-cross: the reference crossover strategy. Its signals are a contract checked exactly by external tools:
// - evaluated on each candle's close; SMAs are pandas-exact (src/strategy/indicators.ts), so fast − slow is
//   exactly 0 when both windows are flat at the same price;
// - cross up: fast > slow now and the last non-zero (fast − slow) before this candle was < 0; cross down mirrored.
//   The last non-zero diff survives candles where diff == 0, and is unset until the first non-zero diff once
//   both SMAs are ready (so the first ready candle never crosses);
// - a true tie (fast == slow without flat windows, e.g. 30·Σfast = 10·Σslow in cents) is a zero diff too:
//   differences within TIE (relative) are float noise, far below the smallest real difference of
//   decimal prices (~1e-9 relative), so the contract's exact arithmetic is kept;
// - actions: see crossAction in ./common.ts (long only unless ctx.allowShort).
import type { Candle, Signal } from '../../core/types.ts';
import { Sma } from '../indicators.ts';
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

const NAME = 'sma-cross';
const TIE = 1e-12;
const DEFAULTS = Object.freeze({ fast: 10, slow: 30, ...COMMON_DEFAULTS });

export class SmaCross implements Strategy {
  readonly name = NAME;
  readonly symbol: string;
  readonly warmup: number;
  private readonly fast: Sma;
  private readonly slow: Sma;
  private readonly cross = new Crossing();
  private readonly close: CloseTime;
  private readonly stop: AtrStop;

  constructor(symbol: string, p: typeof DEFAULTS) {
    this.symbol = symbol;
    this.fast = new Sma(p.fast);
    this.slow = new Sma(p.slow);
    this.close = new CloseTime(p.timeframeMs);
    this.stop = new AtrStop(p.atrStop, p.atrPeriod);
    // Both SMAs are ready at candle index slow−1, which cannot cross: index `slow` is the first that can.
    this.warmup = p.slow;
  }

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    this.fast.push(candle.close);
    this.slow.push(candle.close);
    const s = this.slow.value;
    if (s !== s) return null; // slow not ready (fast < slow, so fast is ready whenever slow is)
    const f = this.fast.value;
    const d = f - s;
    const tol = TIE * s;
    const dir = this.cross.update(d > tol || d < -tol ? d : 0);
    if (dir === 0) return null;
    const action = crossAction(dir, ctx);
    if (action === null) return null;
    const p = this.fast.period;
    const q = this.slow.period;
    const reason =
      dir > 0 ? `SMA${p} crossed above SMA${q} (${fmt(f)} > ${fmt(s)})` : `SMA${p} crossed below SMA${q} (${fmt(f)} < ${fmt(s)})`;
    return makeSignal(this.symbol, action, this.close.of(candle.ts), candle.close, NAME, reason, this.stop, { fast: f, slow: s });
  }
}

export const smaCross: StrategyFactory = {
  name: NAME,
  description: 'Trend following: long when SMA(fast) crosses above SMA(slow), out when it crosses below.',
  defaults: DEFAULTS,
  create(symbol: string, params: StrategyParams): Strategy {
    const p = resolveParams(NAME, DEFAULTS, params);
    requireInt(NAME, 'fast', p.fast, 1);
    requireInt(NAME, 'slow', p.slow, 2);
    requireLess(NAME, 'fast', p.fast, 'slow', p.slow);
    return new SmaCross(symbol, p);
  },
};
