// Shared set-up for the paper exchange tests: a venue on a SimClock, a recording listener, and
// helpers to place orders and feed 1-minute candles.
import { SimClock } from '../../src/core/clock.ts';
import type { Candle, Fill, MarketInfo, Order } from '../../src/core/types.ts';
import { PaperExchange, type PaperExchangeOptions } from '../../src/exchange/paper/index.ts';
import type { OrderUpdate } from '../../src/exchange/types.ts';
import { makeOrder } from './orders.ts';

export const SYM = 'BTC/USDT';
export const MIN = 60_000;

export const market = (over: Partial<MarketInfo> = {}): MarketInfo => ({
  symbol: SYM,
  base: 'BTC',
  quote: 'USDT',
  type: 'spot',
  qtyStep: 0.001,
  priceStep: 0.01,
  minQty: 0.001,
  minNotional: 1,
  maxLeverage: 1,
  ...over,
});

export type Ev = { kind: 'fill'; fill: Fill } | { kind: 'update'; update: OrderUpdate };

export interface Rig {
  ex: PaperExchange;
  clock: SimClock;
  events: Ev[];
  /** Place an order (defaults: market buy GTC, not reduce-only); returns it. */
  place(req: Partial<Order>): Order;
  /** Feed the next 1-minute candle (clock at its close). */
  candle(open: number, high: number, low: number, close: number, volume?: number): Candle;
  fills(): Fill[];
  updates(coid?: string): OrderUpdate[];
  last(coid: string): OrderUpdate | undefined;
  clear(): void;
}

export function rig(opts: Partial<PaperExchangeOptions> = {}, startTs = 0): Rig {
  const clock = opts.clock instanceof SimClock ? opts.clock : new SimClock(startTs);
  const marketType = opts.marketType ?? 'spot';
  const ex = new PaperExchange({
    clock,
    marketType,
    markets: [market({ type: marketType, maxLeverage: marketType === 'perp' ? 50 : 1 })],
    startingBalances: { USDT: 10_000 },
    makerFee: 0.001,
    takerFee: 0.002,
    slippageBps: 0,
    ...opts,
  });
  const events: Ev[] = [];
  ex.setListener({
    onFill: (fill) => events.push({ kind: 'fill', fill }),
    onOrderUpdate: (update) => events.push({ kind: 'update', update }),
  });
  let seq = 0;
  let t = Math.max(startTs, clock.now());
  const r: Rig = {
    ex,
    clock,
    events,
    place(req) {
      const now = clock.now();
      const o: Order = makeOrder({ clientOrderId: `c${++seq}-${now}`, symbol: SYM, ...req }, now);
      ex.submit(o);
      return o;
    },
    candle(open, high, low, close, volume = 1_000) {
      const c: Candle = { ts: t, open, high, low, close, volume };
      t += MIN;
      clock.set(t);
      ex.processCandle(SYM, c);
      return c;
    },
    fills: () => events.flatMap((e) => (e.kind === 'fill' ? [e.fill] : [])),
    updates: (coid) =>
      events.flatMap((e) => (e.kind === 'update' && (coid === undefined || e.update.clientOrderId === coid) ? [e.update] : [])),
    last: (coid) => r.updates(coid).at(-1),
    clear: () => {
      events.length = 0;
    },
  };
  return r;
}
