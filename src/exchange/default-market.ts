import type { MarketInfo, MarketType } from '../core/types.ts';
import { splitSymbol } from '../core/symbols.ts';

/**
 * Defaults for a symbol without exchange metadata, matching the config defaults of the paper
 * exchange: qty step and min qty 0.00001, price step 0.01, min notional 5 (quote), max leverage
 * 125 on perps (1 on spot). 'BTC/USDT', 'BTC/USDT:USDT' and 'BTCUSDT' are understood.
 */
export function defaultMarket(symbol: string, type: MarketType): MarketInfo {
  const [base, quote] = splitSymbol(symbol);
  return {
    symbol,
    base,
    quote,
    type,
    qtyStep: 0.00001,
    priceStep: 0.01,
    minQty: 0.00001,
    minNotional: 5,
    maxLeverage: type === 'perp' ? 125 : 1,
  };
}
