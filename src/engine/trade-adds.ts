// A trade's adds (pyramiding): how many, and the last one's price and size, journaled with the fill
// that made them (one runtime-state key per trade), so they survive a restart. The entry itself is
// add 0. A TWAP/iceberg parent's children are one add together (their ids are `<parent>-<n>`).
// The engine keeps them in memory too (TradeAddsBook): a journal read per risk check and an upsert per
// entry cost ~5 µs each, most of a backtest fill; a `fills`-detail journal (backtests) journals no
// positions, so neither are their adds.
import type { Fill, Order } from '../core/types.ts';
import type { JournalDetail } from '../journal/db.ts';
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
  return history(read(journal, pos.id), pos);
}

const history = (s: Saved | null, pos: BookPosition): AddHistory =>
  s ? { adds: s.adds, lastPrice: s.lastPrice, lastQty: s.lastQty } : { adds: 0, lastPrice: pos.entryPrice, lastQty: pos.maxQty };

/** The engine's trade adds: read from the journal once per position (after a restart), then from memory. */
export class TradeAddsBook {
  private readonly saved = new Map<number, Saved | null>();

  constructor(private readonly journal: StateStore & { readonly detail: JournalDetail }) {}

  of(pos: BookPosition): AddHistory {
    return history(this.load(pos.id), pos);
  }

  /** Inside the fill's transaction: a fill that opened or grew a position updates the trade's adds. */
  record(botPrefix: string, o: Order | undefined, f: Fill, r: PortfolioFill): void {
    const pos = r.after;
    if (r.closed !== null) this.saved.delete(r.closed.id);
    if (o === undefined || o.reduceOnly || pos === null) return;
    const next = nextAdds(r.opened ? null : this.load(pos.id), botPrefix, o, f, r, pos);
    if (next === null) return;
    this.saved.set(pos.id, next);
    if (this.journal.detail === 'full') STATE.tradeAdds(pos.id).write(this.journal, next, f.ts);
  }

  private load(posId: number): Saved | null {
    let s = this.saved.get(posId);
    if (s === undefined) this.saved.set(posId, (s = read(this.journal, posId)));
    return s;
  }
}

/** The add an order belongs to: its parent for a TWAP/iceberg child, else itself. */
export function addKey(clientOrderId: string, botPrefix: string): string {
  if (!clientOrderId.startsWith(botPrefix)) return clientOrderId;
  const m = /^([0-9a-z]+)-\d+$/.exec(clientOrderId.slice(botPrefix.length));
  return m ? botPrefix + m[1] : clientOrderId;
}

/** The adds after this fill, or null when it did not open or grow the position. */
function nextAdds(cur: Saved | null, botPrefix: string, o: Order, f: Fill, r: PortfolioFill, pos: BookPosition): Saved | null {
  const grew = r.opened || (r.before !== null && r.before.side === pos.side && pos.qty > r.before.qty);
  if (!grew) return null;
  const key = addKey(o.clientOrderId, botPrefix);
  const filled = r.opened ? pos.qty : pos.qty - r.before!.qty;
  let next: Saved;
  if (cur !== null && cur.order === key) {
    const q = cur.lastQty + filled;
    next = { ...cur, lastQty: q, lastPrice: (cur.lastPrice * cur.lastQty + f.price * filled) / q };
  } else if (r.opened) next = { adds: 0, lastPrice: f.price, lastQty: filled, order: key };
  else next = { adds: (cur?.adds ?? 0) + 1, lastPrice: f.price, lastQty: filled, order: key };
  return next;
}
