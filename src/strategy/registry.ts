// The built-in strategies by name.
import { bollinger } from './builtin/bollinger.ts';
import { emaCross } from './builtin/ema-cross.ts';
import { macd } from './builtin/macd.ts';
import { rsiReversion } from './builtin/rsi-reversion.ts';
import { smaCross } from './builtin/sma-cross.ts';
import type { Strategy, StrategyFactory, StrategyParams } from './types.ts';
export { ParamError } from './builtin/common.ts';

export const STRATEGIES: Readonly<Record<string, StrategyFactory>> = Object.freeze({
  [smaCross.name]: smaCross,
  [emaCross.name]: emaCross,
  [rsiReversion.name]: rsiReversion,
  [bollinger.name]: bollinger,
  [macd.name]: macd,
});

export interface StrategyInfo {
  name: string;
  description: string;
  defaults: StrategyParams;
}

/** Creates a built-in strategy; throws on an unknown name (listing the available ones) or bad params. */
export function createStrategy(name: string, symbol: string, params: StrategyParams = {}): Strategy {
  const factory = Object.hasOwn(STRATEGIES, name) ? STRATEGIES[name] : undefined;
  if (!factory) throw new Error(`unknown strategy "${name}"; available: ${Object.keys(STRATEGIES).sort().join(', ')}`);
  return factory.create(symbol, params);
}

/**
 * A strategy's parameters as shown to the trader (replies, results): its defaults overlaid with `params`,
 * without timeframeMs, which the bot sets from the timeframe (not a trader's knob).
 */
export function shownParams(name: string, params: StrategyParams): Record<string, number> {
  const { timeframeMs: _setByTheBot, ...shown } = { ...(Object.hasOwn(STRATEGIES, name) ? STRATEGIES[name]!.defaults : {}), ...params };
  return shown;
}

/** Name, description and default parameters of every built-in, sorted by name. */
export function listStrategies(): StrategyInfo[] {
  return Object.values(STRATEGIES)
    .map((f) => ({ name: f.name, description: f.description, defaults: { ...f.defaults } }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
