import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Balance, Fill, OrderStatus, OrderType, PositionSide, Side, TimeInForce } from '../../core/types.ts';
import type { Journal } from '../../journal/journal.ts';
import { paperBalances, paperFills, paperOrders, paperPositions } from '../../journal/schema.ts';

// Persistence of the paper exchange's own books in the journal's paper_* tables. The exchange
// collects every change of one step (an order accepted, a fill and its consequences, …) and hands
// them to commit(), which writes them in ONE transaction before any listener hears about them.

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

export interface PaperSeq {
  order: number;
  trade: number;
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

const SEQ_KEY = 'paper_seq';
const num = (s: string, re: RegExp): number => Number(re.exec(s)?.[1] ?? 0);

export class PaperStore {
  private readonly stmts;

  constructor(readonly journal: Journal) {
    // Prepared once, bound directly (a paper fill writes a handful of rows on the decision path;
    // drizzle's parameter mapping costs more than the writes). Reads below use drizzle.
    const raw = journal.sqlite;
    this.stmts = {
      balance: raw.prepare(
        `insert into paper_balances (asset, free, locked) values (?, ?, ?)
         on conflict (asset) do update set free = excluded.free, locked = excluded.locked`,
      ),
      order: raw.prepare(
        `insert into paper_orders (client_order_id, exchange_order_id, symbol, status, "order", updated_at) values (?, ?, ?, ?, ?, ?)
         on conflict (client_order_id) do update set status = excluded.status, "order" = excluded."order", updated_at = excluded.updated_at`,
      ),
      fill: raw.prepare(
        `insert into paper_fills (trade_id, client_order_id, symbol, ts, fill) values (?, ?, ?, ?, ?) on conflict do nothing`,
      ),
      position: raw.prepare(
        `insert into paper_positions (symbol, position) values (?, ?) on conflict (symbol) do update set position = excluded.position`,
      ),
      closePosition: raw.prepare(`delete from paper_positions where symbol = ?`),
      getOrder: raw.prepare(`select "order" as o from paper_orders where client_order_id = ?`),
    };
  }

  /**
   * The saved books, or null when the store is empty (a new paper account). Loads the working orders
   * and the most recent `recent` orders and fills; older history stays in the store (see getOrder,
   * fillsSince), so memory does not grow with the account's age.
   */
  load(recent = 1000): PaperState | null {
    const db = this.journal.db;
    const balances = db.select().from(paperBalances).all();
    const toOrder = (r: { order: unknown }) => r.order as unknown as PaperOrder;
    const working = db
      .select()
      .from(paperOrders)
      .where(inArray(paperOrders.status, ['open', 'partially_filled']))
      .orderBy(sql`rowid`)
      .all()
      .map(toOrder);
    const latest = db
      .select()
      .from(paperOrders)
      .orderBy(sql`rowid desc`)
      .limit(recent)
      .all()
      .map(toOrder)
      .reverse();
    const seen = new Set(working.map((o) => o.clientOrderId));
    const orders = [...working, ...latest.filter((o) => !seen.has(o.clientOrderId))];
    const seqState = this.journal.getState<PaperSeq | null>(SEQ_KEY, null);
    if (balances.length === 0 && orders.length === 0 && seqState === null) return null;
    const fills = db
      .select()
      .from(paperFills)
      .orderBy(sql`rowid desc`)
      .limit(recent)
      .all()
      .map((r) => r.fill as unknown as Fill)
      .reverse();
    const positions = db
      .select()
      .from(paperPositions)
      .all()
      .map((r) => r.position as unknown as PaperPosition);
    // The saved counters, but never below an id already in use.
    const seq: PaperSeq = { order: seqState?.order ?? 0, trade: seqState?.trade ?? 0 };
    for (const o of orders) seq.order = Math.max(seq.order, o.seq, num(o.exchangeOrderId, /^P(\d+)/));
    for (const f of fills) seq.trade = Math.max(seq.trade, num(f.tradeId, /^PT(\d+)/));
    return { balances: balances.map((b) => ({ asset: b.asset, free: b.free, locked: b.locked })), orders, fills, positions, seq };
  }

  /** One order by client order id (for orders no longer held in memory). */
  getOrder(clientOrderId: string): PaperOrder | null {
    const r = this.stmts.getOrder.get(clientOrderId) as { o: string } | undefined;
    return r ? (JSON.parse(r.o) as PaperOrder) : null;
  }

  /** Fills of a symbol at or after `sinceTs`, oldest first. */
  fillsSince(symbol: string, sinceTs: number): Fill[] {
    return this.journal.db
      .select()
      .from(paperFills)
      .where(and(eq(paperFills.symbol, symbol), gte(paperFills.ts, sinceTs)))
      .orderBy(sql`rowid`)
      .all()
      .map((r) => r.fill as unknown as Fill);
  }

  /** Write one step's changes atomically. */
  commit(ch: PaperChanges): void {
    const st = this.stmts;
    this.journal.tx(() => {
      for (const b of ch.balances) st.balance.run(b.asset, b.free, b.locked);
      for (const o of ch.orders) st.order.run(o.clientOrderId, o.exchangeOrderId, o.symbol, o.status, JSON.stringify(o), o.updatedAt);
      for (const f of ch.fills) st.fill.run(f.tradeId, f.clientOrderId, f.symbol, f.ts, JSON.stringify(f));
      for (const p of ch.positions) st.position.run(p.symbol, JSON.stringify(p));
      for (const symbol of ch.closed) st.closePosition.run(symbol);
      if (ch.seq) this.journal.setState(SEQ_KEY, ch.seq, ch.ts);
    });
  }
}
