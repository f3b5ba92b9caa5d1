// ema-cross: sma-cross with EMAs (SMA-seeded, α = 2/(n+1)); same crossover and action semantics (see sma-cross.ts).
import { Ema } from '../indicators.ts';
import type { Strategy, StrategyFactory, StrategyParams } from '../types.ts';
import { COMMON_DEFAULTS, LineCross, requireInt, requireLess, resolveParams } from './common.ts';

const NAME = 'ema-cross';
const DEFAULTS = Object.freeze({ fast: 12, slow: 26, ...COMMON_DEFAULTS });

export class EmaCross extends LineCross {
  readonly name = NAME;
  readonly warmup: number;
  private readonly fast: Ema;
  private readonly slow: Ema;

  constructor(symbol: string, p: typeof DEFAULTS) {
    super(symbol, p);
    this.fast = new Ema(p.fast);
    this.slow = new Ema(p.slow);
    this.warmup = p.slow; // both ready at index slow−1, which cannot cross
  }

  protected update(close: number): boolean {
    this.fast.push(close);
    this.slow.push(close);
    this.a = this.fast.value;
    this.b = this.slow.value;
    return this.b === this.b;
  }

  protected describe(up: boolean): string {
    return `EMA${this.fast.period} crossed ${up ? 'above' : 'below'} EMA${this.slow.period}`;
  }

  protected features(): Record<string, number> {
    return { fast: this.a, slow: this.b };
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
