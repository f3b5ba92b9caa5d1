// macd: long when the MACD line crosses above its signal line, out when it crosses below. Crossovers of the
// histogram (line − signal) use the same last-non-zero semantics and actions as sma-cross (see common.ts).
import { Macd } from '../indicators.ts';
import type { Strategy, StrategyFactory, StrategyParams } from '../types.ts';
import { COMMON_DEFAULTS, LineCross, ParamChecks } from './common.ts';

const NAME = 'macd';
const DEFAULTS = Object.freeze({ fast: 12, slow: 26, signal: 9, ...COMMON_DEFAULTS });

export class MacdStrategy extends LineCross {
  readonly name = NAME;
  readonly warmup: number;
  private readonly macd: Macd;

  constructor(symbol: string, p: typeof DEFAULTS) {
    super(symbol, p);
    this.macd = new Macd(p.fast, p.slow, p.signal);
    // The signal line is ready at index slow+signal−2, which cannot cross.
    this.warmup = p.slow + p.signal - 1;
  }

  protected update(close: number): boolean {
    const m = this.macd;
    m.push(close);
    this.a = m.macd;
    this.b = m.signal;
    return this.b === this.b; // NaN until the signal line is ready
  }

  protected describe(up: boolean): string {
    return `MACD crossed ${up ? 'above' : 'below'} signal`;
  }

  protected features(): Record<string, number> {
    return { macd: this.a, signal: this.b };
  }
}

export const macd: StrategyFactory = {
  name: NAME,
  description: 'Momentum: long when the MACD line crosses above its signal line, out when it crosses below.',
  defaults: DEFAULTS,
  create(symbol: string, params: StrategyParams): Strategy {
    const check = new ParamChecks(NAME);
    const p = check.resolve(DEFAULTS, params);
    check.int('fast', p.fast, 1).int('slow', p.slow, 2).int('signal', p.signal, 1).less('fast', p.fast, 'slow', p.slow).done();
    return new MacdStrategy(symbol, p);
  },
};
