// What the engine writes and rebuilds itself from: orders (with the client order id sequence),
// fills, positions, decisions, equity snapshots and data-quality events.
import { and, asc, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { ExitReason, Fill, Order, OrderPurpose, OrderStatus, Position, Signal, RiskVerdict } from '../core/types.ts';
import { JournalDb, type CountedTable } from './db.ts';
import { FillBuffer, fillRow } from './fill-buffer.ts';
import * as s from './schema.ts';
import { prepareReads, type Reads } from './statements.ts';
import { STATE } from './state-keys.ts';

export type OrderRow = typeof s.orders.$inferSelect;
export type FillRow = typeof s.fills.$inferSelect;
export type PositionRow = typeof s.positions.$inferSelect;
export type DecisionRow = typeof s.decisions.$inferSelect;
export type EquityRow = typeof s.equitySnapshots.$inferSelect;
export type DataEventRow = typeof s.dataEvents.$inferSelect;

/** An order event's detail when the engine asked for a cancel: `cancel asked: <why>`. */
export const CANCEL_ASKED = 'cancel asked: ';

export function rowToOrder(r: OrderRow): Order {
  const o: Order = {
    clientOrderId: r.clientOrderId,
    symbol: r.symbol,
    side: r.side,
    type: r.type as Order['type'],
    tif: r.tif as Order['tif'],
    reduceOnly: r.reduceOnly,
    status: r.status as OrderStatus,
    filledQty: r.filledQty,
    avgPrice: r.avgPrice,
    fee: r.fee,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
  if (r.exchangeOrderId != null) o.exchangeOrderId = r.exchangeOrderId;
  if (r.qty != null) o.qty = r.qty;
  if (r.quoteQty != null) o.quoteQty = r.quoteQty;
  if (r.price != null) o.price = r.price;
  if (r.stopPrice != null) o.stopPrice = r.stopPrice;
  if (r.trailPct != null) o.trailPct = r.trailPct;
  if (r.leverage != null) o.leverage = r.leverage;
  if (r.reason != null) o.reason = r.reason;
  if (r.purpose != null) o.purpose = r.purpose as OrderPurpose;
  if (r.decisionId != null) o.decisionId = r.decisionId;
  if (r.stopLoss != null) o.stopLoss = r.stopLoss;
  if (r.takeProfit != null) o.takeProfit = r.takeProfit;
  return o;
}

/**
 * The journal is the truth: the engine writes here before it acts, and rebuilds itself from here
 * after a restart. Hot writes use raw prepared statements (statements.ts); reads use drizzle.
 */
export class TradingJournal extends JournalDb {
  private orderSeq: number | undefined;
  /** `fills` detail on an empty fills table: fills wait in memory until read (fill-buffer.ts). */
  private fillBuffer: FillBuffer | null | undefined;
  private preparedReads: Reads | undefined;

  private get reads(): Reads {
    return (this.preparedReads ??= prepareReads(this.db));
  }

  /**
   * Next client order id: `<prefix><sequence in base 36>`. The sequence lives in the journal and is
   * written before the order row, so ids are unique and never reused, even across crashes.
   */
  nextClientOrderId(prefix: string, ts: number): string {
    this.orderSeq ??= STATE.orderSeq.read(this);
    const seq = ++this.orderSeq;
    // In `fills` detail (backtests) orders are not journaled, so neither is their counter.
    if (this.detail === 'full') this.held.write('orderSeq', () => STATE.orderSeq.write(this, seq, ts));
    return `${prefix}${seq.toString(36).padStart(6, '0')}`;
  }

  // ---- orders -----------------------------------------------------------------------------

  insertOrder(o: Order, venue: string): void {
    if (this.detail !== 'full') return;
    this.stmts.rawInsertOrder.run(
      o.clientOrderId,
      venue,
      o.symbol,
      o.side,
      o.type,
      o.tif,
      o.qty ?? null,
      o.quoteQty ?? null,
      o.price ?? null,
      o.stopPrice ?? null,
      o.reduceOnly ? 1 : 0,
      o.leverage ?? null,
      o.stopLoss ?? null,
      o.takeProfit ?? null,
      o.status,
      o.purpose ?? null,
      o.decisionId ?? null,
      o.createdAt,
      o.updatedAt,
      o.trailPct ?? null,
    );
    this.stmts.rawOrderEvent.run(o.clientOrderId, o.createdAt, null, o.status, null);
  }

  /** Persist an order's current state and the transition that led to it. */
  updateOrder(o: Order, fromStatus: OrderStatus | null, detail?: string): void {
    if (this.detail !== 'full') return;
    this.stmts.rawUpdateOrder.run(
      o.status,
      o.exchangeOrderId ?? null,
      o.filledQty,
      o.avgPrice,
      o.fee,
      o.reason ?? null,
      o.updatedAt,
      o.clientOrderId,
    );
    if (fromStatus !== o.status || detail) this.stmts.rawOrderEvent.run(o.clientOrderId, o.updatedAt, fromStatus, o.status, detail ?? null);
  }

  /** The engine asks the venue to cancel an order: why, journaled before the request leaves (an order event, status unchanged). */
  noteCancelAsked(o: Order, why: string, ts: number): void {
    if (this.detail !== 'full') return;
    this.stmts.rawOrderEvent.run(o.clientOrderId, ts, o.status, o.status, `${CANCEL_ASKED}${why}`);
  }

  /** Why the engine last asked the venue to cancel this order, if it did (read when the answer comes after a restart). */
  cancelAsked(clientOrderId: string): string | undefined {
    const r = this.stmts.rawCancelAsked.get(clientOrderId) as { detail: string } | undefined;
    return r?.detail.slice(CANCEL_ASKED.length);
  }

  getOrder(clientOrderId: string): Order | undefined {
    const r = this.stmts.rawGetOrder.get(clientOrderId) as (Omit<OrderRow, 'reduceOnly'> & { reduceOnly: number }) | undefined;
    return r ? rowToOrder({ ...r, reduceOnly: r.reduceOnly === 1 }) : undefined;
  }

  /** Orders the venue may still hold (not in a terminal state). */
  liveOrders(): Order[] {
    return this.db
      .select()
      .from(s.orders)
      .where(inArray(s.orders.status, ['new', 'submitted', 'open', 'partially_filled', 'unknown']))
      .orderBy(asc(s.orders.id))
      .all()
      .map(rowToOrder);
  }

  recentOrders(limit: number): Order[] {
    return this.db.select().from(s.orders).orderBy(desc(s.orders.id)).limit(limit).all().map(rowToOrder);
  }

  orderEvents(clientOrderId: string) {
    return this.db.select().from(s.orderEvents).where(eq(s.orderEvents.clientOrderId, clientOrderId)).orderBy(asc(s.orderEvents.id)).all();
  }

  // ---- fills ------------------------------------------------------------------------------

  /** Record a fill once. Returns false when this venue trade id was already journaled. */
  recordFill(venue: string, f: Fill, realizedPnl: number, cashDelta: number): boolean {
    if (this.fillBuffer === undefined) this.fillBuffer = this.detail === 'fills' && this.count('fills') === 0 ? new FillBuffer() : null;
    if (this.fillBuffer !== null) return this.fillBuffer.add(venue, f, realizedPnl, cashDelta);
    return this.insertFill(fillRow(0, venue, f, realizedPnl, cashDelta));
  }

  /** Write buffered fills (fills detail) to SQLite, in one transaction. */
  flushFills(): void {
    const rows = this.fillBuffer?.takeUnwritten() ?? [];
    if (rows.length === 0) return;
    this.tx(() => {
      for (const f of rows) this.insertFill(f);
    });
  }

  private insertFill(f: FillRow): boolean {
    const r = this.stmts.rawInsertFill.run(
      f.venue,
      f.tradeId,
      f.clientOrderId,
      f.exchangeOrderId,
      f.symbol,
      f.side,
      f.price,
      f.qty,
      f.fee,
      f.feeCurrency,
      f.liquidity,
      f.ts,
      f.realizedPnl,
      f.cashDelta,
    );
    return r.changes > 0;
  }

  /** Every fill recorded so far without reading SQLite (a fills-detail run's result), in fills() order. */
  recordedFills(): FillRow[] {
    return this.fillBuffer ? [...this.fillBuffer.rows].sort((a, b) => a.ts - b.ts) : this.fills();
  }

  override count(table: CountedTable): number {
    if (table === 'fills') this.flushFills();
    return super.count(table);
  }

  override close(): void {
    // An in-memory journal dies with close(): nothing to write.
    if (this.path !== ':memory:' && this.sqlite.open && !this.sqlite.readonly) this.flushFills();
    super.close();
  }

  /** Is this venue trade already booked? */
  hasFill(venue: string, tradeId: string): boolean {
    this.flushFills();
    const r = this.db
      .select({ id: s.fills.id })
      .from(s.fills)
      .where(and(eq(s.fills.venue, venue), eq(s.fills.tradeId, tradeId)))
      .get();
    return r !== undefined;
  }

  fills(opts: { since?: number; until?: number; limit?: number; clientOrderId?: string } = {}): FillRow[] {
    this.flushFills();
    if (!opts.clientOrderId) {
      return this.reads.fillsBetween.all({
        since: opts.since ?? Number.MIN_SAFE_INTEGER,
        until: opts.until ?? Number.MAX_SAFE_INTEGER,
        limit: opts.limit || -1,
      });
    }
    const conds = [eq(s.fills.clientOrderId, opts.clientOrderId)];
    if (opts.since != null) conds.push(gte(s.fills.ts, opts.since));
    if (opts.until != null) conds.push(lt(s.fills.ts, opts.until));
    const q = this.db
      .select()
      .from(s.fills)
      .where(and(...conds))
      .orderBy(asc(s.fills.ts), asc(s.fills.id));
    return opts.limit ? q.limit(opts.limit).all() : q.all();
  }

  lastFillTs(venue: string): number | undefined {
    this.flushFills();
    const r = this.db
      .select({ ts: sql<number>`max(${s.fills.ts})` })
      .from(s.fills)
      .where(eq(s.fills.venue, venue))
      .get();
    return r?.ts ?? undefined;
  }

  /** Sum of all cash effects of fills (and funding), for rebuilding the wallet after a restart. */
  cashFlows(): { fills: number; funding: number; fees: number; count: number } {
    this.flushFills();
    const f = this.db
      .select({
        c: sql<number>`coalesce(sum(${s.fills.cashDelta}),0)`,
        fee: sql<number>`coalesce(sum(${s.fills.fee}),0)`,
        n: sql<number>`count(*)`,
      })
      .from(s.fills)
      .get();
    const fu = this.db
      .select({ c: sql<number>`coalesce(sum(${s.fundingPayments.amount}),0)` })
      .from(s.fundingPayments)
      .get();
    return { fills: f?.c ?? 0, funding: fu?.c ?? 0, fees: f?.fee ?? 0, count: f?.n ?? 0 };
  }

  // ---- positions --------------------------------------------------------------------------

  openPosition(p: Position, strategy?: string): number {
    if (this.detail !== 'full') return 0;
    const r = this.stmts.rawOpenPosition.run(
      p.symbol,
      p.side,
      p.qty,
      p.qty,
      p.entryPrice,
      p.leverage,
      p.margin,
      p.liquidationPrice ?? null,
      p.stopLoss ?? null,
      p.takeProfit ?? null,
      p.realizedPnl,
      p.fees,
      p.openedAt,
      strategy ?? null,
    );
    return Number(r.lastInsertRowid);
  }

  updatePosition(id: number, p: Position, maxQty: number): void {
    if (this.detail !== 'full') return;
    this.stmts.rawUpdatePosition.run(
      p.qty,
      maxQty,
      p.entryPrice,
      p.margin,
      p.leverage,
      p.liquidationPrice ?? null,
      p.stopLoss ?? null,
      p.takeProfit ?? null,
      p.realizedPnl,
      p.fees,
      id,
    );
  }

  /** The average price of a trade's exit fills up to `until` (a trade closed in parts), or null when none is booked. */
  averageExitPrice(p: Position, until: number): number | null {
    if (this.detail !== 'full') return null;
    const avg = this.stmts.rawAverageExit.get(p.symbol, p.side === 'long' ? 'sell' : 'buy', p.openedAt, until) as number | null;
    return avg !== null && Number.isFinite(avg) && avg > 0 ? avg : null;
  }

  closePosition(id: number, p: Position, exitPrice: number, ts: number, reason: ExitReason): void {
    if (this.detail !== 'full') return;
    this.stmts.rawClosePosition.run(exitPrice, p.realizedPnl, p.fees, ts, reason, id);
  }

  openPositions(): PositionRow[] {
    return this.db.select().from(s.positions).where(eq(s.positions.status, 'open')).orderBy(asc(s.positions.id)).all();
  }

  closedPositions(opts: { since?: number; limit?: number } = {}): PositionRow[] {
    return this.reads.closedSince.all({ since: opts.since ?? Number.MIN_SAFE_INTEGER, limit: opts.limit || -1 });
  }

  // ---- decisions --------------------------------------------------------------------------

  recordDecision(signal: Signal, verdict: RiskVerdict, requestedQty: number | undefined): number {
    if (this.detail !== 'full') return 0;
    const r = this.stmts.rawDecision.run(
      signal.ts,
      signal.symbol,
      signal.strategy,
      signal.action,
      signal.price,
      signal.reason,
      signal.confidence ?? null,
      signal.features ? JSON.stringify(signal.features) : null,
      requestedQty ?? null,
      verdict.action,
      verdict.rule,
      verdict.reason,
      verdict.qty ?? verdict.quoteQty ?? null,
    );
    return Number(r.lastInsertRowid);
  }

  updateDecision(id: number, patch: { clientOrderId?: string; approval?: string }): void {
    if (this.detail !== 'full' || !id) return;
    if (patch.clientOrderId !== undefined) this.stmts.rawDecisionOrder.run(patch.clientOrderId, id);
    if (patch.approval !== undefined) this.stmts.rawDecisionApproval.run(patch.approval, id);
  }

  getDecision(id: number): DecisionRow | undefined {
    return this.db.select().from(s.decisions).where(eq(s.decisions.id, id)).get();
  }

  recentDecisions(limit: number): DecisionRow[] {
    return this.db.select().from(s.decisions).orderBy(desc(s.decisions.id)).limit(limit).all();
  }

  // ---- equity -----------------------------------------------------------------------------

  recordEquity(ts: number, equity: number, cash: number, unrealizedPnl: number, exposure: number): void {
    this.stmts.rawRecordEquity.run(ts, equity, cash, unrealizedPnl, exposure);
  }

  equitySeries(since = 0, until = Number.MAX_SAFE_INTEGER): EquityRow[] {
    return this.reads.equityBetween.all({ since, until });
  }

  /** Last snapshot strictly before `ts` (e.g. the equity a day started with). */
  equityBefore(ts: number): EquityRow | undefined {
    return this.reads.equityBefore.get({ ts });
  }

  // ---- data events ------------------------------------------------------------------------

  recordDataEvent(e: {
    ts: number;
    symbol: string;
    timeframe: string;
    candleTs?: number;
    kind: string;
    severity: string;
    detail: string;
  }): void {
    this.stmts.recordDataEvent.run({ ...e, candleTs: e.candleTs ?? null });
  }

  dataEvents(limit = 100): DataEventRow[] {
    return this.db.select().from(s.dataEvents).orderBy(desc(s.dataEvents.id)).limit(limit).all();
  }
}
