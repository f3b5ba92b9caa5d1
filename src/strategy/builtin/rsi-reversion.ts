// rsi-reversion: buy oversold, sell overbought. Long entry when RSI crosses up through `oversold`, exit when it
// crosses above `overbought`. With ctx.allowShort, mirrored: short entry when RSI crosses down through
// `overbought`, exit when it crosses below `oversold`. Entries only when flat with nothing pending; no reversals.
// "Crosses" uses the sma-cross rule on RSI − level: sign now vs the last non-zero sign (see Crossing).
import type { Candle, Signal, SignalAction } from '../../core/types.ts';
import { Rsi } from '../indicators.ts';
import type { Strategy, StrategyContext, StrategyFactory, StrategyParams } from '../types.ts';
import { AtrStop, CloseTime, COMMON_DEFAULTS, Crossing, fmt, makeSignal, ParamChecks } from './common.ts';

const NAME = 'rsi-reversion';
const DEFAULTS = Object.freeze({ period: 14, oversold: 30, overbought: 70, ...COMMON_DEFAULTS });

export class RsiReversion implements Strategy {
  readonly name = NAME;
  readonly symbol: string;
  readonly warmup: number;
  private readonly rsi: Rsi;
  private readonly oversold: number;
  private readonly overbought: number;
  private readonly low = new Crossing(); // RSI − oversold
  private readonly high = new Crossing(); // RSI − overbought
  private readonly close: CloseTime;
  private readonly stop: AtrStop;

  constructor(symbol: string, p: typeof DEFAULTS) {
    this.symbol = symbol;
    this.rsi = new Rsi(p.period);
    this.oversold = p.oversold;
    this.overbought = p.overbought;
    this.close = new CloseTime(p.timeframeMs);
    this.stop = new AtrStop(p.atrStop, p.atrPeriod);
    this.warmup = p.period + 1; // RSI ready at index `period`, which cannot cross
  }

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    this.rsi.push(candle.close);
    const r = this.rsi.value;
    if (r !== r) return null;
    const lo = this.low.update(r - this.oversold);
    const hi = this.high.update(r - this.overbought);
    if (lo === 0 && hi === 0) return null;
    const pos = ctx.position;
    let action: SignalAction | null = null;
    let level = 0;
    if (pos === null) {
      if (ctx.pending) return null;
      if (lo > 0) {
        action = 'enter_long';
        level = this.oversold;
      } else if (hi < 0 && ctx.allowShort) {
        action = 'enter_short';
        level = this.overbought;
      }
    } else if (pos === 'long') {
      if (hi > 0) {
        action = 'exit_long';
        level = this.overbought;
      }
    } else if (lo < 0) {
      action = 'exit_short';
      level = this.oversold;
    }
    if (action === null) return null;
    const how =
      action === 'enter_long'
        ? 'crossed up through'
        : action === 'exit_long'
          ? 'crossed above'
          : action === 'enter_short'
            ? 'crossed down through'
            : 'crossed below';
    const reason = `RSI${this.rsi.period} ${how} ${level} (${fmt(r)})`;
    return makeSignal(this.symbol, action, this.close.of(candle.ts), candle.close, NAME, reason, this.stop, { rsi: r });
  }
}

export const rsiReversion: StrategyFactory = {
  name: NAME,
  description: 'Mean reversion: long when RSI crosses up through oversold, out when it crosses above overbought.',
  defaults: DEFAULTS,
  create(symbol: string, params: StrategyParams): Strategy {
    const check = new ParamChecks(NAME);
    const p = check.resolve(DEFAULTS, params);
    check
      .int('period', p.period, 1)
      .range('oversold', p.oversold, 0, 100)
      .range('overbought', p.overbought, 0, 100)
      .less('oversold', p.oversold, 'overbought', p.overbought)
      .done();
    return new RsiReversion(symbol, p);
  },
};
