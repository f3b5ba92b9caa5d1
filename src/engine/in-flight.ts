// What the engine has on its way to the venue for a symbol. While an order for a position is in
// flight, the engine generates no new entry or exit for it; an exit is sized from the position the
// journal holds net of the exits already working, never from what the venue says is free.
import type { MarketType, Order, OrderPurpose, Side } from '../core/types.ts';

/** A position's stop-loss and take-profit orders (protection.ts keeps them), as against the exits that close it. */
export const PROTECTIVE: ReadonlySet<OrderPurpose | undefined> = new Set(['stop_loss', 'take_profit']);

/** An order on `side` reduces `pos` (sells a long, buys back a short); with no position nothing is reduced. */
export function reduces<P extends { side: 'long' | 'short' }>(pos: P | undefined, side: Side): pos is P {
  return pos !== undefined && (pos.side === 'long') === (side === 'sell');
}

/** A working exit: reduce-only and not a protective order itself. */
export const isExit = (o: Order): boolean => o.reduceOnly && !PROTECTIVE.has(o.purpose);

/** An order that opens or adds to a position: neither reduce-only nor protective. */
export const isEntryOrder = (o: Order): boolean => !o.reduceOnly && !PROTECTIVE.has(o.purpose);

const TAKE_PROFIT: ReadonlySet<OrderPurpose | undefined> = new Set(['take_profit']);

/**
 * The protective orders that make way for `exit`, a working reduce-only exit that is not itself
 * protective: they are cancelled before it goes. On spot it sells coins they hold: all of them, and
 * they stay off while it works. On perps nothing is held: a market exit still goes alone (it closes
 * now), but a resting one (a trader's limit) leaves the stop-loss in place for the whole position, so
 * a bot that is down still has it at the venue; both are reduce-only, so whichever fills first closes
 * that much and the other can close no more than is left. Only the take-profit makes way (two active
 * reduce-only orders for more than the position are what a venue may refuse; a stop waits
 * untriggered), and the protection keeper places it again for what the exit leaves.
 */
export function standAside(exit: Pick<Order, 'type' | 'tif'>, marketType: MarketType): ReadonlySet<OrderPurpose | undefined> {
  return marketType === 'perp' && exit.type !== 'market' && exit.tif !== 'IOC' ? TAKE_PROFIT : PROTECTIVE;
}

/**
 * An entry or exit the venue has not settled: not yet sent or acknowledged (new, submitted), in
 * doubt (unknown), or a market order still working (its fills are on their way).
 */
export function inFlight(o: Order): boolean {
  if (PROTECTIVE.has(o.purpose)) return false;
  return o.status === 'new' || o.status === 'submitted' || o.status === 'unknown' || (o.type === 'market' && isWorking(o));
}

/** The first in-flight entry or exit of `symbol`, if any. */
export function orderInFlight(orders: Iterable<Order>, symbol: string): Order | undefined {
  for (const o of orders) if (o.symbol === symbol && inFlight(o)) return o;
  return undefined;
}

/** Quantity that working exits (not protective orders: they stand guard, they don't close) will take out of a position. */
export function exitingQty(orders: Iterable<Order>, symbol: string, side: 'long' | 'short', ignoring?: ReadonlySet<string>): number {
  const closing = side === 'long' ? 'sell' : 'buy';
  let q = 0;
  for (const o of orders) {
    if (o.symbol !== symbol || o.side !== closing || !isExit(o) || !isWorking(o)) continue;
    if (ignoring?.has(o.clientOrderId)) continue;
    q += Math.max(0, (o.qty ?? 0) - o.filledQty);
  }
  return q;
}

const isWorking = (o: Order): boolean =>
  o.status === 'new' || o.status === 'submitted' || o.status === 'unknown' || o.status === 'open' || o.status === 'partially_filled';

/**
 * Entries working or on their way (not reduce-only, not protective): the capital they will tie up once
 * filled (spot: notional; perps: margin at their leverage) and how many symbols without a position they
 * would open, `symbol` (the one being judged) left out. The risk engine counts them as in use already:
 * three resting limit buys that each fit maxCapitalInUse must not fill to three times it.
 */
export function pendingEntries(
  orders: Iterable<Order>,
  o: { symbol: string; spot: boolean; leverage: number; lastPrice(symbol: string): number; hasPosition(symbol: string): boolean },
  /** TWAP/iceberg parents' slices not sent yet (EntrySplitter.unsent): at the last price, like a market entry. */
  unsent: ReadonlyArray<{ symbol: string; qty: number }> = [],
): { capital: number; newSymbols: number } {
  let capital = 0;
  let opening: Set<string> | undefined;
  const count = (symbol: string, qty: number, px: number, leverage = o.leverage): void => {
    if (qty > 0 && px > 0) capital += (qty * px) / (o.spot ? 1 : leverage);
    if (symbol !== o.symbol && !o.hasPosition(symbol)) (opening ??= new Set()).add(symbol);
  };
  for (const x of orders) {
    if (!isEntryOrder(x) || !isWorking(x)) continue;
    const px = x.price ?? x.stopPrice ?? o.lastPrice(x.symbol);
    count(x.symbol, x.qty !== undefined ? x.qty - x.filledQty : x.quoteQty !== undefined && px > 0 ? x.quoteQty / px : 0, px, x.leverage);
  }
  for (const u of unsent) count(u.symbol, u.qty, o.lastPrice(u.symbol));
  return { capital, newSymbols: opening?.size ?? 0 };
}
