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
import { Sma } from '../indicators.ts';
import type { Strategy, StrategyFactory, StrategyParams } from '../types.ts';
import { COMMON_DEFAULTS, LineCross, requireInt, requireLess, resolveParams } from './common.ts';

const NAME = 'sma-cross';
const TIE = 1e-12;
const DEFAULTS = Object.freeze({ fast: 10, slow: 30, ...COMMON_DEFAULTS });

export class SmaCross extends LineCross {
  readonly name = NAME;
  readonly warmup: number;
  private readonly fast: Sma;
  private readonly slow: Sma;

  constructor(symbol: string, p: typeof DEFAULTS) {
    super(symbol, p);
    this.fast = new Sma(p.fast);
    this.slow = new Sma(p.slow);
    // Both SMAs are ready at candle index slow−1, which cannot cross: index `slow` is the first that can.
    this.warmup = p.slow;
  }

  protected update(close: number): boolean {
    this.fast.push(close);
    this.slow.push(close);
    this.a = this.fast.value;
    this.b = this.slow.value;
    return this.b === this.b; // slow not ready → NaN (fast < slow, so fast is ready whenever slow is)
  }

  protected override diff(): number {
    const d = this.a - this.b;
    const tol = TIE * this.b;
    return d > tol || d < -tol ? d : 0;
  }

  protected describe(up: boolean): string {
    return `SMA${this.fast.period} crossed ${up ? 'above' : 'below'} SMA${this.slow.period}`;
  }

  protected features(): Record<string, number> {
    return { fast: this.a, slow: this.b };
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
