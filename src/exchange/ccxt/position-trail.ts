/*
 * Bybit's linear trailing stop is a position attribute (/v5/position/trading-stop `trailingStop`, a
 * price distance), not an order: it has no order id and no client order id, and setting it again
 * replaces it. The engine still journals it as a reduce-only stop with a client order id and
 * `trailPct` (the intent, written before it is sent); the adapter places that pseudo-order by setting
 * the attribute and answers lookups by reading the position back (ccxt has no call for it, so the
 * implicit API method is used).
 */
import type { Exchange, Order as CcxtOrder } from 'ccxt';
import { floorToStep, roundTo, decimalsOf } from '../../core/num.ts';
import type { Order } from '../../core/types.ts';

/** The venue's stop order type for the close a triggered trailing stop places. */
export const TRAILING_CLOSE = 'TrailingStop';

type TradingStopApi = {
  privatePostV5PositionTradingStop(p: Record<string, string>): Promise<unknown>;
  privateGetV5PositionList(p: Record<string, string>): Promise<{ result?: { list?: Array<Record<string, unknown>> } }>;
};
const api = (ex: Exchange): TradingStopApi => ex as unknown as TradingStopApi;

/**
 * The price distance of a trail of `trailPct`: the order's stopPrice is where the trail starts, `pct`
 * behind the best price, so the distance is pct × that price, on the price step (at least one step).
 */
export function trailDistance(o: Order, priceStep: number): number {
  const pct = o.trailPct ?? 0;
  const best = (o.stopPrice ?? 0) / (o.side === 'sell' ? 1 - pct : 1 + pct);
  const d = best * pct;
  if (!(priceStep > 0)) return d;
  return Math.max(priceStep, roundTo(floorToStep(d, priceStep), decimalsOf(priceStep)));
}

/** Set (distance > 0) or remove (0) the position's trailing stop. */
export async function setTrailingStop(ex: Exchange, symbolId: string, distance: number): Promise<void> {
  await api(ex).privatePostV5PositionTradingStop({
    category: 'linear',
    symbol: symbolId,
    tpslMode: 'Full',
    positionIdx: '0',
    trailingStop: String(distance),
  });
}

/** The position's size and trailing distance (0 when none). */
export async function readTrailingStop(ex: Exchange, symbolId: string): Promise<{ size: number; distance: number }> {
  const res = await api(ex).privateGetV5PositionList({ category: 'linear', symbol: symbolId });
  const row = (res.result?.list ?? []).find((r) => r['symbol'] === symbolId);
  const size = Number(row?.['size'] ?? 0);
  const distance = Number(row?.['trailingStop'] ?? 0);
  return { size: Number.isFinite(size) ? size : 0, distance: Number.isFinite(distance) ? distance : 0 };
}

/** A ccxt-shaped order for the pseudo-order, for code that reads orders (reconciliation, /orders). */
export function attributeOrder(o: Order, id: string, status: 'open' | 'closed' | 'canceled', filled: number): CcxtOrder {
  return {
    id,
    clientOrderId: o.clientOrderId,
    status,
    side: o.side,
    amount: o.qty ?? 0,
    filled,
    reduceOnly: true,
    timestamp: o.createdAt,
    info: { orderType: 'Market', stopOrderType: TRAILING_CLOSE },
  } as unknown as CcxtOrder;
}
