import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { and, asc, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../core/paths.ts';
import * as s from './schema.ts';
import { isStorageFailure, journalOpenError, JournalFileGuard, openJournalDb } from './file-guard.ts';
import type { Fill, Order, OrderPurpose, OrderStatus, Position, Signal, RiskVerdict } from '../core/types.ts';
import type { Alert } from '../core/alerts.ts';

const CHECKPOINT_WORKER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 100');
setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, workerData.intervalMs);
`;

export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'migrations');

/** A new journal's set-up (WAL mode, every migration), run on the file before it takes its name. */
const initJournal = (db: Database.Database): void => {
  db.pragma('journal_mode = WAL');
  migrate(drizzle({ client: db }), { migrationsFolder: MIGRATIONS_DIR });
};

/**
 * `full` journals everything (paper, live). `fills` keeps fills and equity snapshots only: the
 * default of backtests, where per-order bookkeeping rows would cost more than the simulation.
 */
export type JournalDetail = 'full' | 'fills';

export interface JournalOptions {
  /** File path, or ':memory:'. */
  path: string;
  detail?: JournalDetail;
  /** NORMAL survives process crashes (WAL); FULL also survives power loss, at an fsync per commit. */
  synchronous?: 'NORMAL' | 'FULL';
  readonly?: boolean;
}

export type OrderRow = typeof s.orders.$inferSelect;
export type FillRow = typeof s.fills.$inferSelect;
export type PositionRow = typeof s.positions.$inferSelect;
export type DecisionRow = typeof s.decisions.$inferSelect;
export type CommandRow = typeof s.commandsAudit.$inferSelect;
export type AlertRow = typeof s.alerts.$inferSelect;
export type AlertDeliveryRow = typeof s.alertDeliveries.$inferSelect;
export type ProposalRow = typeof s.proposals.$inferSelect;
export type EquityRow = typeof s.equitySnapshots.$inferSelect;
export type DataEventRow = typeof s.dataEvents.$inferSelect;

export interface CommandAudit {
  ts: number;
  transport: string;
  userId: string;
  userName?: string;
  role?: string;
  command: string;
  args?: string;
  outcome: string;
  detail?: string;
}

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
 * after a restart. Hot writes use drizzle prepared statements; everything else is plain drizzle.
 */
export class Journal {
  readonly sqlite: Database.Database;
  readonly db: BetterSQLite3Database;
  readonly detail: JournalDetail;
  readonly path: string;
  private readonly stmts;
  private orderSeq: number | undefined;
  private checkpointer: Worker | undefined;
  private txDepth = 0;
  private readonly guard: JournalFileGuard | null;
  /** Called when a write fails for a reason the process can't fix (disk full, I/O error, read-only file). */
  onWriteFailure: ((e: Error) => void) | undefined;
  /** better-sqlite3 builds a wrapper per transaction() call: build one, reuse it for every commit. */
  private readonly runTx: (fn: () => unknown) => unknown;

  constructor(opts: JournalOptions) {
    this.path = opts.path;
    this.detail = opts.detail ?? 'full';
    const file = opts.path !== ':memory:';
    this.sqlite = openJournalDb(opts, initJournal, (e) => this.writeFailed(e));
    try {
      this.db = drizzle({ client: this.sqlite });
      this.runTx = this.sqlite.transaction((fn: () => unknown) => fn());
      if (!opts.readonly) this.migrate();
      this.stmts = this.prepare();
    } catch (e) {
      this.sqlite.close();
      throw journalOpenError(opts.path, e);
    }
    this.guard = file ? new JournalFileGuard(resolve(opts.path)) : null;
  }

  private lastFailure: Error | undefined;

  /** Tell onWriteFailure, once per error (a statement's failure also fails its transaction). */
  private writeFailed(e: Error): void {
    if (e === this.lastFailure) return;
    this.lastFailure = e;
    this.onWriteFailure?.(e);
  }

  /** null while the journal file is the one opened; otherwise what happened to it (deleted, replaced). */
  fileProblem(): string | null {
    return this.guard?.problem() ?? null;
  }

  static memory(detail: JournalDetail = 'full'): Journal {
    return new Journal({ path: ':memory:', detail });
  }

  migrate(): void {
    migrate(this.db, { migrationsFolder: MIGRATIONS_DIR });
  }

  /**
   * Move WAL checkpoints off the trading thread: a worker with its own connection runs a PASSIVE
   * checkpoint every `intervalMs` (it never blocks our writes), and the main connection's automatic
   * checkpoint is raised to a safety net. Without it an automatic checkpoint lands, with its fsync,
   * inside whichever commit crosses the threshold: milliseconds on the decision path.
   */
  startBackgroundCheckpoints(intervalMs = 1000): void {
    if (this.path === ':memory:' || this.checkpointer) return;
    this.sqlite.pragma('wal_autocheckpoint = 20000');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.checkpointer = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { driver, path: resolve(this.path), intervalMs } });
    this.checkpointer.unref();
    this.checkpointer.on('error', () => this.sqlite.open && this.sqlite.pragma('wal_autocheckpoint = 1000'));
  }

  close(): void {
    if (this.checkpointer) {
      void this.checkpointer.terminate();
      this.checkpointer = undefined;
    }
    if (!this.sqlite.open) return;
    if (this.path !== ':memory:' && !this.sqlite.readonly) {
      try {
        this.sqlite.pragma('wal_checkpoint(TRUNCATE)'); // a clean stop leaves an empty WAL
      } catch {
        // a full disk or a lost file: nothing more to save here
      }
    }
    this.sqlite.close();
  }

  /** Tracked in JS (every transaction goes through tx()): asked once per candle, cheaper than the native getter. */
  get inTransaction(): boolean {
    return this.txDepth > 0;
  }

  /** Run `fn` in one SQLite transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.txDepth > 0) return fn();
    this.txDepth++;
    try {
      return this.runTx(fn) as T;
    } catch (e) {
      if (isStorageFailure(e)) this.writeFailed(e as Error);
      throw e;
    } finally {
      this.txDepth--;
    }
  }

  private prepare() {
    const p = sql.placeholder;
    // The hot writes (fills, positions, decisions, alerts, per-candle progress) bind straight to
    // better-sqlite3: drizzle's prepared statements re-encode every parameter (~5 µs a row), most of a
    // backtest's cost. The SQL names the same drizzle tables; every read still goes through drizzle.
    const raw = this.sqlite;
    return {
      rawInsertFill: raw.prepare(
        `insert into fills (venue, trade_id, client_order_id, exchange_order_id, symbol, side, price, qty, fee, fee_currency, liquidity, ts, realized_pnl, cash_delta)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
      ),
      rawOpenPosition: raw.prepare(
        `insert into positions (symbol, side, status, qty, max_qty, entry_price, leverage, margin, liquidation_price, stop_loss, take_profit, realized_pnl, fees, opened_at, strategy)
         values (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      rawDecision: raw.prepare(
        `insert into decisions (ts, symbol, strategy, action, price, reason, confidence, features, requested_qty, verdict, verdict_rule, verdict_reason, final_qty, approval)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'none')`,
      ),
      rawDecisionOrder: raw.prepare(`update decisions set client_order_id = ? where id = ?`),
      rawDecisionApproval: raw.prepare(`update decisions set approval = ? where id = ?`),
      rawAlert: raw.prepare(
        `insert into alerts (ts, type, severity, title, message, data, count, delivery) values (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      rawInsertOrder: raw.prepare(
        `insert into orders (client_order_id, venue, symbol, side, type, tif, qty, quote_qty, price, stop_price, reduce_only, leverage, stop_loss, take_profit, status, purpose, decision_id, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      rawUpdateOrder: raw.prepare(
        `update orders set status = ?, exchange_order_id = ?, filled_qty = ?, avg_price = ?, fee = ?, reason = ?, updated_at = ? where client_order_id = ?`,
      ),
      rawOrderEvent: raw.prepare(`insert into order_events (client_order_id, ts, from_status, to_status, detail) values (?, ?, ?, ?, ?)`),
      rawGetOrder: raw.prepare(
        `select id, client_order_id as clientOrderId, exchange_order_id as exchangeOrderId, venue, symbol, side, type, tif, qty,
                quote_qty as quoteQty, price, stop_price as stopPrice, reduce_only as reduceOnly, leverage, stop_loss as stopLoss,
                take_profit as takeProfit, status, filled_qty as filledQty, avg_price as avgPrice, fee, reason, purpose,
                decision_id as decisionId, created_at as createdAt, updated_at as updatedAt
         from orders where client_order_id = ?`,
      ),
      rawBumpAlert: raw.prepare(`update alerts set count = ? where id = ?`),
      rawAlertDelivery: raw.prepare(`insert into alert_deliveries (alert_id, channel, status, ts, detail) values (?, ?, ?, ?, ?)`),
      rawSetAlertDelivery: raw.prepare(`update alerts set delivery = ? where id = ?`),
      rawSetNumber: raw.prepare(
        `insert into runtime_state (key, value, updated_at) values (?, ?, ?)
         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
      ),
      rawClosePosition: raw.prepare(
        `update positions set status = 'closed', qty = 0, exit_price = ?, realized_pnl = ?, fees = ?, closed_at = ? where id = ?`,
      ),
      setState: this.db
        .insert(s.runtimeState)
        .values({ key: p('key'), value: p('value'), updatedAt: p('updatedAt') })
        .onConflictDoUpdate({ target: s.runtimeState.key, set: { value: sql`excluded.value`, updatedAt: sql`excluded.updated_at` } })
        .prepare(),
      getState: this.db
        .select()
        .from(s.runtimeState)
        .where(eq(s.runtimeState.key, p('key')))
        .prepare(),
      updatePosition: this.db
        .update(s.positions)
        .set({
          qty: p('qty') as never,
          maxQty: p('maxQty') as never,
          entryPrice: p('entryPrice') as never,
          margin: p('margin') as never,
          leverage: p('leverage') as never,
          liquidationPrice: p('liquidationPrice') as never,
          stopLoss: p('stopLoss') as never,
          takeProfit: p('takeProfit') as never,
          realizedPnl: p('realizedPnl') as never,
          fees: p('fees') as never,
        })
        .where(eq(s.positions.id, p('id')))
        .prepare(),
      recordDataEvent: this.db
        .insert(s.dataEvents)
        .values({
          ts: p('ts'),
          symbol: p('symbol'),
          timeframe: p('timeframe'),
          candleTs: p('candleTs'),
          kind: p('kind'),
          severity: p('severity'),
          detail: p('detail'),
        })
        .prepare(),
      recordEquity: this.db
        .insert(s.equitySnapshots)
        .values({ ts: p('ts'), equity: p('equity'), cash: p('cash'), unrealizedPnl: p('unrealizedPnl'), exposure: p('exposure') })
        .prepare(),
    };
  }

  // ---- runtime state ----------------------------------------------------------------------

  getState<T>(key: string, fallback: T): T {
    const row = this.stmts.getState.get({ key });
    return row ? (row.value as T) : fallback;
  }

  setState(key: string, value: unknown, ts: number): void {
    this.stmts.setState.run({ key, value, updatedAt: ts });
  }

  /** setState for a number, without allocating: the engine records its progress once per candle. */
  setNumber(key: string, value: number, ts: number): void {
    this.stmts.rawSetNumber.run(key, String(value), ts);
  }

  /**
   * Next client order id: `<prefix><sequence in base 36>`. The sequence lives in the journal and is
   * written before the order row, so ids are unique and never reused, even across crashes.
   */
  nextClientOrderId(prefix: string, ts: number): string {
    this.orderSeq ??= this.getState<number>('order_seq', 0);
    const seq = ++this.orderSeq;
    // In `fills` detail (backtests) orders are not journaled, so neither is their counter.
    if (this.detail === 'full') this.setState('order_seq', seq, ts);
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
    const r = this.stmts.rawInsertFill.run(
      venue,
      f.tradeId,
      f.clientOrderId,
      f.exchangeOrderId ?? null,
      f.symbol,
      f.side,
      f.price,
      f.qty,
      f.fee,
      f.feeCurrency,
      f.liquidity,
      f.ts,
      realizedPnl,
      cashDelta,
    );
    return r.changes > 0;
  }

  /** Is this venue trade already booked? */
  hasFill(venue: string, tradeId: string): boolean {
    const r = this.db
      .select({ id: s.fills.id })
      .from(s.fills)
      .where(and(eq(s.fills.venue, venue), eq(s.fills.tradeId, tradeId)))
      .get();
    return r !== undefined;
  }

  fills(opts: { since?: number; until?: number; limit?: number; clientOrderId?: string } = {}): FillRow[] {
    const conds = [];
    if (opts.since != null) conds.push(gte(s.fills.ts, opts.since));
    if (opts.until != null) conds.push(lt(s.fills.ts, opts.until));
    if (opts.clientOrderId) conds.push(eq(s.fills.clientOrderId, opts.clientOrderId));
    const q = this.db
      .select()
      .from(s.fills)
      .where(and(...conds))
      .orderBy(asc(s.fills.ts), asc(s.fills.id));
    return opts.limit ? q.limit(opts.limit).all() : q.all();
  }

  lastFillTs(venue: string): number | undefined {
    const r = this.db
      .select({ ts: sql<number>`max(${s.fills.ts})` })
      .from(s.fills)
      .where(eq(s.fills.venue, venue))
      .get();
    return r?.ts ?? undefined;
  }

  /** Sum of all cash effects of fills (and funding), for rebuilding the wallet after a restart. */
  cashFlows(): { fills: number; funding: number; fees: number; count: number } {
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
    this.stmts.updatePosition.run({
      id,
      qty: p.qty,
      maxQty,
      entryPrice: p.entryPrice,
      margin: p.margin,
      leverage: p.leverage,
      liquidationPrice: p.liquidationPrice ?? null,
      stopLoss: p.stopLoss ?? null,
      takeProfit: p.takeProfit ?? null,
      realizedPnl: p.realizedPnl,
      fees: p.fees,
    });
  }

  closePosition(id: number, p: Position, exitPrice: number, ts: number): void {
    if (this.detail !== 'full') return;
    this.stmts.rawClosePosition.run(exitPrice, p.realizedPnl, p.fees, ts, id);
  }

  openPositions(): PositionRow[] {
    return this.db.select().from(s.positions).where(eq(s.positions.status, 'open')).orderBy(asc(s.positions.id)).all();
  }

  closedPositions(opts: { since?: number; limit?: number } = {}): PositionRow[] {
    const conds = [eq(s.positions.status, 'closed')];
    if (opts.since != null) conds.push(gte(s.positions.closedAt, opts.since));
    const q = this.db
      .select()
      .from(s.positions)
      .where(and(...conds))
      .orderBy(desc(s.positions.closedAt), desc(s.positions.id));
    return opts.limit ? q.limit(opts.limit).all() : q.all();
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
    this.stmts.recordEquity.run({ ts, equity, cash, unrealizedPnl, exposure });
  }

  equitySeries(since = 0, until = Number.MAX_SAFE_INTEGER): EquityRow[] {
    return this.db
      .select()
      .from(s.equitySnapshots)
      .where(and(gte(s.equitySnapshots.ts, since), lt(s.equitySnapshots.ts, until)))
      .orderBy(asc(s.equitySnapshots.ts))
      .all();
  }

  /** Last snapshot strictly before `ts` (e.g. the equity a day started with). */
  equityBefore(ts: number): EquityRow | undefined {
    return this.db.select().from(s.equitySnapshots).where(lt(s.equitySnapshots.ts, ts)).orderBy(desc(s.equitySnapshots.ts)).limit(1).get();
  }

  // ---- audit, alerts, data events ---------------------------------------------------------

  recordCommand(c: CommandAudit): number {
    return this.db
      .insert(s.commandsAudit)
      .values({
        ts: c.ts,
        transport: c.transport,
        userId: c.userId,
        userName: c.userName ?? null,
        role: c.role ?? null,
        command: c.command,
        args: c.args ?? null,
        outcome: c.outcome,
        detail: c.detail ?? null,
      })
      .returning({ id: s.commandsAudit.id })
      .get().id;
  }

  recentCommands(limit: number): CommandRow[] {
    return this.db.select().from(s.commandsAudit).orderBy(desc(s.commandsAudit.id)).limit(limit).all();
  }

  recordAlert(a: Alert, delivery: string, count = 1): number {
    const r = this.stmts.rawAlert.run(
      a.ts,
      a.type,
      a.severity,
      a.title,
      a.message,
      a.data ? JSON.stringify(a.data) : null,
      count,
      delivery,
    );
    return Number(r.lastInsertRowid);
  }

  bumpAlert(id: number, count: number): void {
    this.stmts.rawBumpAlert.run(count, id);
  }

  /** One channel's outcome for an alert. */
  recordAlertDelivery(alertId: number, channel: string, status: string, ts: number, detail?: string): void {
    this.stmts.rawAlertDelivery.run(alertId, channel, status, ts, detail ?? null);
  }

  setAlertDelivery(alertId: number, delivery: string): void {
    this.stmts.rawSetAlertDelivery.run(delivery, alertId);
  }

  alertDeliveries(alertId: number): AlertDeliveryRow[] {
    return this.db.select().from(s.alertDeliveries).where(eq(s.alertDeliveries.alertId, alertId)).orderBy(asc(s.alertDeliveries.id)).all();
  }

  recentAlerts(limit: number): AlertRow[] {
    return this.db.select().from(s.alerts).orderBy(desc(s.alerts.id)).limit(limit).all();
  }

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

  // ---- proposals (trade confirmations) ----------------------------------------------------

  insertProposal(p: typeof s.proposals.$inferInsert): number {
    return this.db.insert(s.proposals).values(p).returning({ id: s.proposals.id }).get().id;
  }

  getProposal(id: number): ProposalRow | undefined {
    return this.db.select().from(s.proposals).where(eq(s.proposals.id, id)).get();
  }

  pendingProposals(): ProposalRow[] {
    return this.db.select().from(s.proposals).where(eq(s.proposals.status, 'pending')).orderBy(asc(s.proposals.id)).all();
  }

  /** Move a pending proposal to a final status; false if it was no longer pending (first decision wins). */
  decideProposal(id: number, status: Exclude<ProposalRow['status'], 'pending'>, by: string | null, ts: number, detail?: string): boolean {
    const r = this.db
      .update(s.proposals)
      .set({ status, decidedBy: by, decidedAt: ts, detail: detail ?? null })
      .where(and(eq(s.proposals.id, id), eq(s.proposals.status, 'pending')))
      .run();
    return r.changes > 0;
  }

  setProposalDetail(id: number, detail: string): void {
    this.db.update(s.proposals).set({ detail }).where(eq(s.proposals.id, id)).run();
  }

  addProposalMessage(id: number, msg: Record<string, string>): void {
    const p = this.getProposal(id);
    if (!p) return;
    this.db
      .update(s.proposals)
      .set({ messages: [...p.messages, msg] })
      .where(eq(s.proposals.id, id))
      .run();
  }

  // ---- reconciliation & funding -----------------------------------------------------------

  recordReconciliation(r: typeof s.reconciliations.$inferInsert): number {
    return this.db.insert(s.reconciliations).values(r).returning({ id: s.reconciliations.id }).get().id;
  }

  recentReconciliations(limit: number) {
    return this.db.select().from(s.reconciliations).orderBy(desc(s.reconciliations.id)).limit(limit).all();
  }

  recordFunding(p: typeof s.fundingPayments.$inferInsert): boolean {
    return this.db.insert(s.fundingPayments).values(p).onConflictDoNothing().run().changes > 0;
  }

  // ---- housekeeping -----------------------------------------------------------------------

  count(table: 'orders' | 'fills' | 'decisions' | 'commands' | 'alerts' | 'positions' | 'equity_snapshots' | 'data_events'): number {
    const r = this.sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number };
    return r.n;
  }
}
