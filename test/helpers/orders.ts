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

let seq = 0;
/** makeOrder for 0.01 BTC with the next client order id of the test file (sk-000001, sk-000002…). */
export const nextOrder = (over: Partial<Order> = {}): Order =>
  makeOrder({ clientOrderId: `sk-${(++seq).toString(36).padStart(6, '0')}`, qty: 0.01, ...over });
