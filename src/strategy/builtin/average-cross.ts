// The two moving-average crossovers (sma-cross, ema-cross): fast and slow averages of the close,
// crossing by LineCross's rules (./common.ts); each file names its average and its defaults.
import type { Strategy, StrategyFactory, StrategyParams } from '../types.ts';
import { COMMON_DEFAULTS, LineCross, ParamChecks } from './common.ts';

/** A moving average fed one close at a time: NaN until `period` closes have been seen. */
export interface Average {
  readonly period: number;
  readonly value: number;
  push(x: number): void;
}

export type AverageCrossParams = { fast: number; slow: number } & typeof COMMON_DEFAULTS;

export abstract class AverageCross extends LineCross {
  abstract override readonly name: string;
  /** Both averages are ready at candle index slow−1, which cannot cross: index `slow` is the first that can. */
  readonly warmup: number;
  protected abstract readonly label: string;

  constructor(
    symbol: string,
    p: AverageCrossParams,
    private readonly fast: Average,
    private readonly slow: Average,
  ) {
    super(symbol, p);
    this.warmup = p.slow;
  }

  protected update(close: number): boolean {
    this.fast.push(close);
    this.slow.push(close);
    this.a = this.fast.value;
    this.b = this.slow.value;
    return this.b === this.b; // slow not ready → NaN (fast < slow, so fast is ready whenever slow is)
  }

  protected describe(up: boolean): string {
    return `${this.label}${this.fast.period} crossed ${up ? 'above' : 'below'} ${this.label}${this.slow.period}`;
  }

  protected features(): Record<string, number> {
    return { fast: this.a, slow: this.b };
  }
}

/** The factory of an average crossover: integer periods, fast < slow. */
export function averageCrossFactory(
  name: string,
  description: string,
  defaults: Readonly<AverageCrossParams>,
  make: (symbol: string, p: AverageCrossParams) => Strategy,
): StrategyFactory {
  return {
    name,
    description,
    defaults,
    create(symbol: string, params: StrategyParams): Strategy {
      const check = new ParamChecks(name);
      const p = check.resolve(defaults, params);
      check.int('fast', p.fast, 1).int('slow', p.slow, 2).less('fast', p.fast, 'slow', p.slow).done();
      return make(symbol, p);
    },
  };
}
