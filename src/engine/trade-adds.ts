// A trade's adds (pyramiding): how many, and the last one's price and size, journaled with the fill
// that made them (one runtime-state key per trade), so they survive a restart. The entry itself is
// add 0. A TWAP/iceberg parent's children are one add together (their ids are `<parent>-<n>`).
import type { Fill, Order } from '../core/types.ts';
import { STATE, type StateStore } from '../journal/state-keys.ts';
import type { AddHistory } from '../risk/types.ts';
import type { BookPosition, PortfolioFill } from './portfolio.ts';

interface Saved extends AddHistory {
  /** The order (or parent) the last add came from: its further fills are the same add. */
  order: string;
}

function read(journal: StateStore, posId: number): Saved | null {
  const v = STATE.tradeAdds(posId).read(journal);
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : null);
  const adds = num(o['adds']);
  const lastPrice = num(o['lastPrice']);
  const lastQty = num(o['lastQty']);
  if (adds === null || lastPrice === null || !(lastPrice > 0) || lastQty === null || typeof o['order'] !== 'string') return null;
  return { adds, lastPrice, lastQty, order: o['order'] };
}

/** What the risk engine needs to judge an add to this position. */
export function tradeAdds(journal: StateStore, pos: BookPosition): AddHistory {
  const s = read(journal, pos.id);
  return s ? { adds: s.adds, lastPrice: s.lastPrice, lastQty: s.lastQty } : { adds: 0, lastPrice: pos.entryPrice, lastQty: pos.maxQty };
}

/** The add an order belongs to: its parent for a TWAP/iceberg child, else itself. */
export function addKey(clientOrderId: string, botPrefix: string): string {
  if (!clientOrderId.startsWith(botPrefix)) return clientOrderId;
  const m = /^([0-9a-z]+)-\d+$/.exec(clientOrderId.slice(botPrefix.length));
  return m ? botPrefix + m[1] : clientOrderId;
}

/** Inside the fill's transaction: a fill that opened or grew a position updates the trade's adds. */
export function recordAdd(journal: StateStore, botPrefix: string, o: Order | undefined, f: Fill, r: PortfolioFill): void {
  const pos = r.after;
  if (o === undefined || o.reduceOnly || pos === null) return;
  const grew = r.opened || (r.before !== null && r.before.side === pos.side && pos.qty > r.before.qty);
  if (!grew) return;
  const key = addKey(o.clientOrderId, botPrefix);
  const cur = r.opened ? null : read(journal, pos.id);
  const filled = r.opened ? pos.qty : pos.qty - r.before!.qty;
  let next: Saved;
  if (cur !== null && cur.order === key) {
    const q = cur.lastQty + filled;
    next = { ...cur, lastQty: q, lastPrice: (cur.lastPrice * cur.lastQty + f.price * filled) / q };
  } else if (r.opened) next = { adds: 0, lastPrice: f.price, lastQty: filled, order: key };
  else next = { adds: (cur?.adds ?? 0) + 1, lastPrice: f.price, lastQty: filled, order: key };
  STATE.tradeAdds(pos.id).write(journal, next, f.ts);
}
