// bollinger: mean reversion on Bollinger bands (population σ). Long entry when the close crosses back above
// the lower band; exit when the close reaches the middle band (close ≥ middle: the mean the trade bets on; the
// upper band would hold through most of the reversion and then give much of it back). With ctx.allowShort,
// mirrored: short entry when the close crosses back below the upper band, exit when close ≤ middle.
// Entries only when flat with nothing pending. "Crosses" uses the sma-cross rule on close − band (see Crossing).
import type { Candle, Signal, SignalAction } from '../../core/types.ts';
import { Bollinger } from '../indicators.ts';
import type { Strategy, StrategyContext, StrategyFactory, StrategyParams } from '../types.ts';
import { AtrStop, CloseTime, COMMON_DEFAULTS, Crossing, fmt, makeSignal, ParamChecks } from './common.ts';

const NAME = 'bollinger';
const DEFAULTS = Object.freeze({ period: 20, k: 2, ...COMMON_DEFAULTS });

export class BollingerStrategy implements Strategy {
  readonly name = NAME;
  readonly symbol: string;
  readonly warmup: number;
  private readonly bb: Bollinger;
  private readonly lowerX = new Crossing(); // close − lower
  private readonly upperX = new Crossing(); // close − upper
  private readonly close: CloseTime;
  private readonly stop: AtrStop;

  constructor(symbol: string, p: typeof DEFAULTS) {
    this.symbol = symbol;
    this.bb = new Bollinger(p.period, p.k);
    this.close = new CloseTime(p.timeframeMs);
    this.stop = new AtrStop(p.atrStop, p.atrPeriod);
    this.warmup = p.period; // bands ready at index period−1, which cannot cross
  }

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    const c = candle.close;
    const bb = this.bb;
    bb.push(c);
    const mid = bb.middle;
    if (mid !== mid) return null;
    const lower = bb.lower;
    const upper = bb.upper;
    const lo = this.lowerX.update(c - lower);
    const up = this.upperX.update(c - upper);
    const pos = ctx.position;
    let action: SignalAction | null = null;
    if (pos === null) {
      if (ctx.pending) return null;
      if (lo > 0) action = 'enter_long';
      else if (up < 0 && ctx.allowShort) action = 'enter_short';
    } else if (pos === 'long') {
      if (c >= mid) action = 'exit_long';
    } else if (c <= mid) {
      action = 'exit_short';
    }
    if (action === null) return null;
    const tag = `BB${bb.period},${bb.k}`;
    const reason =
      action === 'enter_long'
        ? `close ${fmt(c)} crossed back above the lower band ${fmt(lower)} (${tag})`
        : action === 'enter_short'
          ? `close ${fmt(c)} crossed back below the upper band ${fmt(upper)} (${tag})`
          : `close ${fmt(c)} reached the middle band ${fmt(mid)} (${tag})`;
    return makeSignal(this.symbol, action, this.close.of(candle.ts), c, NAME, reason, this.stop, { lower, middle: mid, upper });
  }
}

export const bollinger: StrategyFactory = {
  name: NAME,
  description: 'Mean reversion: long when the close crosses back above the lower Bollinger band, out at the middle band.',
  defaults: DEFAULTS,
  create(symbol: string, params: StrategyParams): Strategy {
    const check = new ParamChecks(NAME);
    const p = check.resolve(DEFAULTS, params);
    check.int('period', p.period, 2).positive('k', p.k).done();
    return new BollingerStrategy(symbol, p);
  },
};
