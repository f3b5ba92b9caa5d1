// ema-cross: sma-cross with EMAs (SMA-seeded, α = 2/(n+1)); same crossover and action semantics (see sma-cross.ts).
import { Ema } from '../indicators.ts';
import { COMMON_DEFAULTS } from './common.ts';
import { AverageCross, averageCrossFactory, type AverageCrossParams } from './average-cross.ts';

const NAME = 'ema-cross';
const DEFAULTS = Object.freeze({ fast: 12, slow: 26, ...COMMON_DEFAULTS });

export class EmaCross extends AverageCross {
  readonly name = NAME;
  protected readonly label = 'EMA';

  constructor(symbol: string, p: AverageCrossParams) {
    super(symbol, p, new Ema(p.fast), new Ema(p.slow));
  }
}

export const emaCross = averageCrossFactory(
  NAME,
  'Trend following: long when EMA(fast) crosses above EMA(slow), out when it crosses below.',
  DEFAULTS,
  (symbol, p) => new EmaCross(symbol, p),
);
