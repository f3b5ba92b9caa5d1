// macd: long when the MACD line crosses above its signal line, out when it crosses below. Crossovers of the
// histogram (line − signal) use the same last-non-zero semantics and actions as sma-cross (see common.ts).
import type { Candle, Signal } from '../../core/types.ts';
import { Macd } from '../indicators.ts';
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

const NAME = 'macd';
const DEFAULTS = Object.freeze({ fast: 12, slow: 26, signal: 9, ...COMMON_DEFAULTS });

export class MacdStrategy implements Strategy {
  readonly name = NAME;
  readonly symbol: string;
  readonly warmup: number;
  private readonly macd: Macd;
  private readonly cross = new Crossing();
  private readonly close: CloseTime;
  private readonly stop: AtrStop;

  constructor(symbol: string, p: typeof DEFAULTS) {
    this.symbol = symbol;
    this.macd = new Macd(p.fast, p.slow, p.signal);
    this.close = new CloseTime(p.timeframeMs);
    this.stop = new AtrStop(p.atrStop, p.atrPeriod);
    // The signal line is ready at index slow+signal−2, which cannot cross.
    this.warmup = p.slow + p.signal - 1;
  }

  onCandle(candle: Candle, ctx: StrategyContext): Signal | null {
    this.close.observe(candle.ts);
    this.stop.update(candle);
    const m = this.macd;
    m.push(candle.close);
    const sig = m.signal;
    if (sig !== sig) return null; // NaN until the signal line is ready
    const line = m.macd;
    const dir = this.cross.update(line - sig);
    if (dir === 0) return null;
    const action = crossAction(dir, ctx);
    if (action === null) return null;
    const reason =
      dir > 0 ? `MACD crossed above signal (${fmt(line)} > ${fmt(sig)})` : `MACD crossed below signal (${fmt(line)} < ${fmt(sig)})`;
    return makeSignal(this.symbol, action, this.close.of(candle.ts), candle.close, NAME, reason, this.stop, { macd: line, signal: sig });
  }
}

export const macd: StrategyFactory = {
  name: NAME,
  description: 'Momentum: long when the MACD line crosses above its signal line, out when it crosses below.',
  defaults: DEFAULTS,
  create(symbol: string, params: StrategyParams): Strategy {
    const p = resolveParams(NAME, DEFAULTS, params);
    requireInt(NAME, 'fast', p.fast, 1);
    requireInt(NAME, 'slow', p.slow, 2);
    requireInt(NAME, 'signal', p.signal, 1);
    requireLess(NAME, 'fast', p.fast, 'slow', p.slow);
    return new MacdStrategy(symbol, p);
  },
};
