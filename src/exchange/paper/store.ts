import type { Balance, Fill, OrderStatus, OrderType, PositionSide, Side, TimeInForce } from '../../core/types.ts';
import type { PaperBooksTable } from '../../journal/paper-books.ts';
import type { PaperSeq } from '../../journal/state-keys.ts';

// Persistence of the paper exchange's own books in the journal's paper_* tables, through the handle
// the journal gives (PaperBooksTable). The exchange collects every change of one step (an order
// accepted, a fill and its consequences, …) and hands them to commit(), which writes them in ONE
// transaction before any listener hears about them.

export type { PaperSeq };

/** An order as the paper venue keeps it (the JSON blob of paper_orders.order). */
export interface PaperOrder {
  /** Venue sequence: the P<seq> of exchangeOrderId; working orders match in this order. */
  seq: number;
  clientOrderId: string;
  exchangeOrderId: string;
  symbol: string;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  /** Base quantity; 0 for a quoteQty market buy until its first fill sizes it. */
  qty: number;
  quoteQty?: number;
  price?: number;
  stopPrice?: number;
  reduceOnly: boolean;
  /** Perps: leverage of the position this order opens (1 on spot). */
  leverage: number;
  status: OrderStatus;
  filledQty: number;
  avgPrice: number;
  fee: number;
  /** Funds still reserved by the order, in `lockAsset` (quote, or base for spot sells). */
  locked: number;
  lockAsset: string;
  /** Candle ts at which a stop order triggered; 0 while untriggered. */
  triggerTs: number;
  /** A GTC limit that has not met its first candle yet (may fill as taker at that candle's open). */
  fresh: boolean;
  /** Only candles with ts > afterTs can match this order (the last candle seen when it arrived). */
  afterTs: number;
  createdAt: number;
  updatedAt: number;
  reason?: string;
  /** Venue-generated liquidation order. */
  liquidation?: boolean;
}

/** A position in the venue's books (the JSON blob of paper_positions.position). */
export interface PaperPosition {
  symbol: string;
  side: PositionSide;
  qty: number;
  entryPrice: number;
  leverage: number;
  /** Perps: isolated margin (qty × entry / leverage). Spot: cost basis. */
  margin: number;
  /** Perps only. */
  liquidationPrice?: number;
  openedAt: number;
  realizedPnl: number;
  fees: number;
}

export interface PaperState {
  balances: Balance[];
  orders: PaperOrder[];
  fills: Fill[];
  positions: PaperPosition[];
  seq: PaperSeq;
}

/** Everything one step changed. */
export interface PaperChanges {
  balances: Balance[];
  orders: PaperOrder[];
  fills: Fill[];
  positions: PaperPosition[];
  /** Symbols whose position closed. */
  closed: string[];
  seq: PaperSeq | null;
  ts: number;
}

const num = (s: string, re: RegExp): number => Number(re.exec(s)?.[1] ?? 0);

export class PaperStore {
  constructor(private readonly books: PaperBooksTable) {}

  /**
   * The saved books, or null when the store is empty (a new paper account). Loads the working orders
   * and the most recent `recent` orders and fills; older history stays in the store (see getOrder,
   * fillsSince), so memory does not grow with the account's age.
   */
  load(recent = 1000): PaperState | null {
    const r = this.books.read(recent);
    const working = r.workingOrders as PaperOrder[];
    const latest = r.recentOrders as PaperOrder[];
    const seen = new Set(working.map((o) => o.clientOrderId));
    const orders = [...working, ...latest.filter((o) => !seen.has(o.clientOrderId))];
    if (r.balances.length === 0 && orders.length === 0 && r.seq === null) return null;
    const fills = r.recentFills as Fill[];
    const positions = r.positions as PaperPosition[];
    // The saved counters, but never below an id already in use.
    const seq: PaperSeq = { order: r.seq?.order ?? 0, trade: r.seq?.trade ?? 0 };
    for (const o of orders) seq.order = Math.max(seq.order, o.seq, num(o.exchangeOrderId, /^P(\d+)/));
    for (const f of fills) seq.trade = Math.max(seq.trade, num(f.tradeId, /^PT(\d+)/));
    return { balances: r.balances, orders, fills, positions, seq };
  }

  /** One order by client order id (for orders no longer held in memory). */
  getOrder(clientOrderId: string): PaperOrder | null {
    return this.books.order(clientOrderId) as PaperOrder | null;
  }

  /** Fills of a symbol at or after `sinceTs`, oldest first. */
  fillsSince(symbol: string, sinceTs: number): Fill[] {
    return this.books.fillsSince(symbol, sinceTs) as Fill[];
  }

  /** Write one step's changes atomically. */
  commit(ch: PaperChanges): void {
    this.books.commit(ch);
  }
}
