import type { Order } from '../../src/core/types.ts';

/** An order as the engine hands it to a venue: a BTC/USDT market buy, submitted, unless overridden. */
export function makeOrder(over: Partial<Order> & { clientOrderId: string }, now = 0): Order {
  return {
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    tif: 'GTC',
    reduceOnly: false,
    status: 'submitted',
    filledQty: 0,
    avgPrice: 0,
    fee: 0,
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}
