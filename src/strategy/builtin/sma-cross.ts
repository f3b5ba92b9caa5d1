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
import { COMMON_DEFAULTS } from './common.ts';
import { AverageCross, averageCrossFactory, type AverageCrossParams } from './average-cross.ts';

const NAME = 'sma-cross';
const TIE = 1e-12;
const DEFAULTS = Object.freeze({ fast: 10, slow: 30, ...COMMON_DEFAULTS });

export class SmaCross extends AverageCross {
  readonly name = NAME;
  protected readonly label = 'SMA';

  constructor(symbol: string, p: AverageCrossParams) {
    super(symbol, p, new Sma(p.fast), new Sma(p.slow));
  }

  protected override diff(): number {
    const d = this.a - this.b;
    const tol = TIE * this.b;
    return d > tol || d < -tol ? d : 0;
  }
}

export const smaCross = averageCrossFactory(
  NAME,
  'Trend following: long when SMA(fast) crosses above SMA(slow), out when it crosses below.',
  DEFAULTS,
  (symbol, p) => new SmaCross(symbol, p),
);
