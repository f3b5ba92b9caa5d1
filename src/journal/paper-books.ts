// The paper venue's own books (balances, orders, fills, positions) live in the journal's paper_*
// tables, beside the bot's. The venue gets this handle (PaperBooksTable) and never the database: the
// journal writes one step's changes in ONE transaction, before any listener hears about them.
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Balance } from '../core/types.ts';
import type { JournalDb } from './db.ts';
import { paperBalances, paperFills, paperOrders, paperPositions } from './schema.ts';
import type { Statements } from './statements.ts';
import { STATE, type PaperSeq } from './state-keys.ts';

/** A stored row: the venue's own JSON-able object and the columns it is found by. */
export interface PaperOrderRow {
  clientOrderId: string;
  exchangeOrderId: string;
  symbol: string;
  status: string;
  updatedAt: number;
}
export interface PaperFillRow {
  tradeId: string;
  clientOrderId: string;
  symbol: string;
  ts: number;
}

/** One step's changes, as the venue hands them over. */
export interface PaperBooksChanges<O extends PaperOrderRow, F extends PaperFillRow, P extends { symbol: string }> {
  balances: Balance[];
  orders: O[];
  fills: F[];
  positions: P[];
  /** Symbols whose position closed. */
  closed: string[];
  seq: PaperSeq | null;
  ts: number;
}

/** The stored books (raw: the venue gives them their types). */
export interface PaperBooksRead {
  balances: Balance[];
  workingOrders: unknown[];
  recentOrders: unknown[];
  recentFills: unknown[];
  positions: unknown[];
  seq: PaperSeq | null;
}

export class PaperBooksTable {
  constructor(
    private readonly journal: JournalDb,
    private readonly st: Statements,
  ) {}

  /** Balances, positions, the working orders and the most recent `recent` orders and fills (oldest first). */
  read(recent: number): PaperBooksRead {
    const db = this.journal.db;
    const order = (r: { order: unknown }): unknown => r.order;
    return {
      balances: db
        .select()
        .from(paperBalances)
        .all()
        .map((b) => ({ asset: b.asset, free: b.free, locked: b.locked })),
      workingOrders: db
        .select()
        .from(paperOrders)
        .where(inArray(paperOrders.status, ['open', 'partially_filled']))
        .orderBy(sql`rowid`)
        .all()
        .map(order),
      recentOrders: db
        .select()
        .from(paperOrders)
        .orderBy(sql`rowid desc`)
        .limit(recent)
        .all()
        .map(order)
        .reverse(),
      recentFills: db
        .select()
        .from(paperFills)
        .orderBy(sql`rowid desc`)
        .limit(recent)
        .all()
        .map((r) => r.fill as unknown)
        .reverse(),
      positions: db
        .select()
        .from(paperPositions)
        .all()
        .map((r) => r.position as unknown),
      seq: STATE.paperSeq.read(this.journal),
    };
  }

  /** One order by client order id (for orders no longer held in memory). */
  order(clientOrderId: string): unknown {
    const r = this.st.paperGetOrder.get(clientOrderId) as { o: string } | undefined;
    return r ? (JSON.parse(r.o) as unknown) : null;
  }

  /** Fills of a symbol at or after `sinceTs`, oldest first. */
  fillsSince(symbol: string, sinceTs: number): unknown[] {
    return this.journal.db
      .select()
      .from(paperFills)
      .where(and(eq(paperFills.symbol, symbol), gte(paperFills.ts, sinceTs)))
      .orderBy(sql`rowid`)
      .all()
      .map((r) => r.fill as unknown);
  }

  /** Write one step's changes atomically. */
  commit<O extends PaperOrderRow, F extends PaperFillRow, P extends { symbol: string }>(ch: PaperBooksChanges<O, F, P>): void {
    const st = this.st;
    this.journal.tx(() => {
      for (const b of ch.balances) st.paperBalance.run(b.asset, b.free, b.locked);
      for (const o of ch.orders) st.paperOrder.run(o.clientOrderId, o.exchangeOrderId, o.symbol, o.status, JSON.stringify(o), o.updatedAt);
      for (const f of ch.fills) st.paperFill.run(f.tradeId, f.clientOrderId, f.symbol, f.ts, JSON.stringify(f));
      for (const p of ch.positions) st.paperPosition.run(p.symbol, JSON.stringify(p));
      for (const symbol of ch.closed) st.paperClosePosition.run(symbol);
      const { seq, ts } = ch;
      if (seq) this.journal.held.write('paperSeq', () => STATE.paperSeq.write(this.journal, seq, ts));
    });
  }
}
