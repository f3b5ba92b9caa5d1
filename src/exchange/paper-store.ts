import { eq, sql } from 'drizzle-orm';
import type { Balance, Fill, OrderStatus, OrderType, PositionSide, Side, TimeInForce } from '../core/types.ts';
import type { Journal } from '../journal/journal.ts';
import { paperBalances, paperFills, paperOrders, paperPositions } from '../journal/schema.ts';

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
    // Prepared once: a paper fill writes a handful of rows.
    const db = journal.db;
    const p = sql.placeholder;
    this.stmts = {
      balance: db
        .insert(paperBalances)
        .values({ asset: p('asset'), free: p('free'), locked: p('locked') })
        .onConflictDoUpdate({ target: paperBalances.asset, set: { free: sql`excluded.free`, locked: sql`excluded.locked` } })
        .prepare(),
      order: db
        .insert(paperOrders)
        .values({
          clientOrderId: p('clientOrderId'),
          exchangeOrderId: p('exchangeOrderId'),
          symbol: p('symbol'),
          status: p('status'),
          order: p('order'),
          updatedAt: p('updatedAt'),
        })
        .onConflictDoUpdate({
          target: paperOrders.clientOrderId,
          set: { status: sql`excluded.status`, order: sql`excluded."order"`, updatedAt: sql`excluded.updated_at` },
        })
        .prepare(),
      fill: db
        .insert(paperFills)
        .values({ tradeId: p('tradeId'), clientOrderId: p('clientOrderId'), symbol: p('symbol'), ts: p('ts'), fill: p('fill') })
        .onConflictDoNothing()
        .prepare(),
      position: db
        .insert(paperPositions)
        .values({ symbol: p('symbol'), position: p('position') })
        .onConflictDoUpdate({ target: paperPositions.symbol, set: { position: sql`excluded.position` } })
        .prepare(),
      closePosition: db
        .delete(paperPositions)
        .where(eq(paperPositions.symbol, p('symbol')))
        .prepare(),
    };
  }

  /** The saved books, or null when the store is empty (a new paper account). */
  load(): PaperState | null {
    const db = this.journal.db;
    const balances = db.select().from(paperBalances).all();
    const orders = db
      .select()
      .from(paperOrders)
      .orderBy(sql`rowid`)
      .all()
      .map((r) => r.order as unknown as PaperOrder);
    const seqState = this.journal.getState<PaperSeq | null>(SEQ_KEY, null);
    if (balances.length === 0 && orders.length === 0 && seqState === null) return null;
    const fills = db
      .select()
      .from(paperFills)
      .orderBy(sql`rowid`)
      .all()
      .map((r) => r.fill as unknown as Fill);
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

  /** Write one step's changes atomically. */
  commit(ch: PaperChanges): void {
    const st = this.stmts;
    this.journal.tx(() => {
      for (const b of ch.balances) st.balance.run({ asset: b.asset, free: b.free, locked: b.locked });
      for (const o of ch.orders) {
        st.order.run({
          clientOrderId: o.clientOrderId,
          exchangeOrderId: o.exchangeOrderId,
          symbol: o.symbol,
          status: o.status,
          order: o,
          updatedAt: o.updatedAt,
        });
      }
      for (const f of ch.fills) st.fill.run({ tradeId: f.tradeId, clientOrderId: f.clientOrderId, symbol: f.symbol, ts: f.ts, fill: f });
      for (const p of ch.positions) st.position.run({ symbol: p.symbol, position: p });
      for (const symbol of ch.closed) st.closePosition.run({ symbol });
      if (ch.seq) this.journal.setState(SEQ_KEY, ch.seq, ch.ts);
    });
  }
}
