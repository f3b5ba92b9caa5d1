import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { duration, forMarket } from '../core/format.ts';
import { floorToStep } from '../core/num.ts';
import { isTerminal } from '../core/order-state.ts';
import { bracketOf, type Bracket, type Order, type OrderRequest, type Side, type Signal } from '../core/types.ts';
import type { Engine } from '../engine/engine.ts';
import type { AlgoStop, EngineEvents } from '../engine/engine-events.ts';
import { reduces } from '../engine/in-flight.ts';
import type { EntrySplitter } from '../engine/ports.ts';
import type { Journal } from '../journal/journal.ts';
import { childOrderId, parentIdOf, ParentJournal, type ParentRow } from '../journal/parents.ts';
import type { RiskDecision } from '../risk/types.ts';
import { ALGO_LIMITS, type Algo, type ExecutionConfig } from './config.ts';

/** A split strategy entry's `createdBy`, and the strategy read back from it (chat parents: undefined). */
const byStrategy = (name: string): string => `strategy ${name}`;
const strategyOf = (p: ParentRow): string | undefined => (p.decisionId !== null ? p.createdBy.slice(byStrategy('').length) : undefined);

/** A position on the side a parent's `side` builds (a buy: a long). */
const onSideOf = (pos: { side: string } | undefined, side: Side): boolean =>
  pos !== undefined && pos.side === (side === 'buy' ? 'long' : 'short');

/** Extra children after the last slice, for parts that ended unfilled. */
const MAX_CATCH_UP = 3;

/** A scheduled parent's slice this late past its plan (or two intervals, if more) is not sent: see stale. */
const STALE_AFTER_MS = 5 * 60_000;

/** The risk engine's verdicts on a slice's size: below the venue's minimums, or floored to nothing by its lot step. */
const SLICE_SIZE_RULES: ReadonlySet<string> = new Set(['min_size', 'qty_step', 'bad_input']);

export interface ParentRequest {
  symbol: string;
  side: Side;
  qty: number;
  algo: Algo;
  /** Spread the slices over this long (TWAP; iceberg: the least time between clips). Default: slices × intervalSec. */
  durationMs?: number;
  by: string;
  /** A split strategy entry: the decision it carries out (`by` is then byStrategy(name)). */
  decisionId?: number;
  /** A split strategy entry: the stop-loss / take-profit it promised (its first child carries them; see promised). */
  bracket?: Bracket;
}

export type StartResult =
  /** `resized`: the risk check's resize of the whole (the reply says why the total is less than asked). */
  { ok: true; parent: ParentRow; first?: Order; resized?: RiskDecision } | { ok: false; reason: string; decision?: RiskDecision };

export interface ParentProgress {
  parent: ParentRow;
  filledQty: number;
  /** Children journaled so far. */
  children: Order[];
}

/**
 * TWAP and iceberg parents. A parent is journaled first; each child gets the id `<parent>-<n>` and is
 * journaled (by the engine, as a manual order through the risk engine) before it is sent; the parent's
 * `sent` counter is advanced after. After a crash between the two, the child's id is already in the
 * journal, so the slice is counted, never sent twice, and the schedule goes on from there.
 *
 * Risk: the parent's total is checked once when it starts (refused if the whole would be refused,
 * scaled down if the risk engine resizes it); each child is checked again like any order. Later children
 * are `continuation`s: the parent counted as one entry for minTradeInterval/maxTradesPer24h.
 *
 * Schedule: on the engine's clock (candle time in replays, wall time live): `tick()` runs after each candle
 * and, live, on a wall timer. TWAP children are market orders, one per interval. Iceberg children are
 * limit orders of `visibleQty` at the last price (less/more `limitOffsetBps`); the next goes out once the
 * previous is done.
 *
 * Strategy entries (`execution.signals`): the engine hands over an entry the risk engine sized and
 * counted; all its children are continuations. The parent stops when the strategy signals an exit (its
 * working child is cancelled). Any parent, manual ones too, stops before its next child once the position
 * it works on has closed (a stop, a take-profit, /close): see positionClosed.
 */
export class AlgoExecutor implements EntrySplitter {
  readonly parents: ParentJournal;

  /** Built before the engine (it is the engine's entry splitter), attached once the engine exists. */
  constructor(
    journal: Journal,
    private readonly clock: Clock,
    private readonly cfg: ExecutionConfig,
    private readonly botId: string,
    private readonly log: Logger,
  ) {
    this.parents = new ParentJournal(journal);
    this.journal = journal;
    this.working = this.parents.active().length > 0;
  }

  private engine!: Engine;

  attach(engine: Engine, events: EngineEvents): void {
    this.engine = engine;
    events.onCandleDone(() => this.tick());
    events.onStopAlgos((why, which) => this.stopAll(why, which));
  }

  private readonly journal: Journal;
  /** Any active parent? When not, a tick reads nothing (no journal access per candle or timer tick). */
  private working: boolean;
  private timer: NodeJS.Timeout | undefined;

  /** Live: also tick on the wall clock between candles (a replay's candle clock only moves with candles). */
  startTimer(everyMs = 250): void {
    this.timer ??= setInterval(() => {
      try {
        this.tick();
      } catch (e) {
        this.log.error({ err: e }, 'execution algo tick failed');
      }
    }, everyMs);
    this.timer.unref();
  }

  stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The configured algo applies to a manual order of this notional (none: null). */
  autoAlgo(notional: number): Algo | null {
    return this.cfg.algo !== 'none' && notional > this.cfg.aboveNotional ? this.cfg.algo : null;
  }

  /** A strategy entry above `aboveNotional`, with `execution.signals` on: started as a parent (its id). */
  split(entry: { signal: Signal; request: OrderRequest; notional: number; decisionId: number; bracket: Bracket }): string | undefined {
    const algo = this.cfg.signals ? this.autoAlgo(entry.notional) : null;
    const market = this.engine?.marketInfo(entry.request.symbol);
    if (algo === null || !market) return undefined;
    const { request, signal } = entry;
    const qty = floorToStep(request.qty ?? (request.quoteQty ?? 0) / signal.price, market.qtyStep);
    const by = byStrategy(signal.strategy);
    const started = this.begin(
      { symbol: request.symbol, side: request.side, qty, algo, by, decisionId: entry.decisionId, bracket: entry.bracket },
      qty,
    );
    return started.ok ? started.parent.id : undefined;
  }

  /** EntrySplitter.unsent: what the active parents that open or add have still to send (`except` one). */
  unsent(except?: string): Array<{ symbol: string; qty: number }> {
    if (!this.working || this.engine === undefined) return [];
    const out: Array<{ symbol: string; qty: number }> = [];
    for (const p of this.parents.active()) {
      const market = this.engine.marketInfo(p.symbol);
      if (p.id === except || market === undefined || !this.isEntry(p)) continue;
      const qty = this.left(p, this.parents.children(p.id), market.qtyStep);
      if (qty > 0) out.push({ symbol: p.symbol, qty });
    }
    return out;
  }

  building(symbol: string): string | undefined {
    if (!this.working) return undefined;
    return this.parents.active().find((p) => p.symbol === symbol && p.decisionId !== null)?.id;
  }

  /** The strategy ended them (no alert: its exit is the news); one whose every slice has filled is done. */
  stopEntries(symbol: string, why: string): void {
    if (!this.working) return;
    for (const p of this.parents.active()) {
      if (p.symbol !== symbol || p.decisionId === null) continue;
      const children = this.parents.children(p.id);
      const complete =
        p.sent >= p.slices &&
        children.every((o) => isTerminal(o.status)) &&
        !(this.left(p, children, this.engine.marketInfo(symbol)!.qtyStep) > 0);
      if (complete) this.finish(p, 'done', undefined, this.clock.now());
      else this.stop(p.id, why, true, 'cancelled');
    }
  }

  start(req: ParentRequest): StartResult {
    const market = this.engine.marketInfo(req.symbol);
    if (!market) return { ok: false, reason: `not trading ${req.symbol}` };
    const preview = this.engine.manualOrder({ symbol: req.symbol, side: req.side, qty: req.qty }, req.by, { dryRun: true });
    if (preview.decision.action === 'reject') return { ok: false, reason: preview.decision.reason, decision: preview.decision };
    const started = this.begin(req, floorToStep(preview.decision.request?.qty ?? req.qty, market.qtyStep));
    if (started.ok && preview.decision.action === 'resize') started.resized = preview.decision;
    return started;
  }

  /**
   * Why `total` can't go out as this algo's slices (null: it can): one would be refused as its own order,
   * e.g. under the venue's minimum order value. Asked before the trader is (and before a strategy entry
   * is split: it then goes out whole), so a parent is never accepted to stop at slice 1.
   */
  sliceProblem(req: ParentRequest, total: number): string | null {
    const market = this.engine.marketInfo(req.symbol);
    if (!market) return null;
    const { slices } = this.plan(req, total, market.qtyStep);
    if (slices < 1 || !(total > 0)) return 'the quantity is too small to split';
    const qty = floorToStep(total / slices, market.qtyStep);
    const probe = this.engine.manualOrder({ symbol: req.symbol, side: req.side, qty }, req.by, { dryRun: true, continuation: true });
    // Its size only: the rest is judged as each slice goes (a flip's first slice waits for the old side's exit).
    if (probe.decision.action !== 'reject' || !SLICE_SIZE_RULES.has(probe.decision.rule ?? '')) return null;
    return `each of its ${slices} slices would be ${probe.decision.reason}; use fewer slices (execution.slices) or a plain order`;
  }

  /** Journal the parent of `total` and send its first child. */
  private begin(req: ParentRequest, total: number): StartResult {
    const market = this.engine.marketInfo(req.symbol)!;
    const { slices, intervalMs } = this.plan(req, total, market.qtyStep);
    const problem = this.sliceProblem(req, total);
    if (problem !== null) return { ok: false, reason: problem };
    const now = this.clock.now();
    const parent: ParentRow = {
      id: this.journal.nextClientOrderId(`${this.botId}-`, now),
      symbol: req.symbol,
      side: req.side,
      algo: req.algo,
      totalQty: total,
      slices,
      intervalMs,
      visibleQty: req.algo === 'iceberg' ? total / slices : null,
      limitOffsetBps: this.cfg.limitOffsetBps,
      sent: 0,
      nextAt: now,
      status: 'active',
      reason: null,
      createdBy: req.by,
      decisionId: req.decisionId ?? null,
      createdAt: now,
      updatedAt: now,
    };
    this.parents.insert(parent);
    this.working = true;
    this.log.info({ parent: parent.id, algo: parent.algo, total, slices, intervalMs }, 'parent order started');
    const first = this.step(parent, req.bracket);
    return { ok: true, parent: this.parents.get(parent.id) ?? parent, ...(first ? { first } : {}) };
  }

  private plan(req: ParentRequest, total: number, step: number): { slices: number; intervalMs: number } {
    if (req.algo === 'twap') {
      const slices = this.cfg.slices;
      const intervalMs = req.durationMs !== undefined ? Math.round(req.durationMs / slices) : this.cfg.intervalSec * 1000;
      return { slices, intervalMs };
    }
    const clip = this.cfg.visibleQty > 0 ? Math.max(this.cfg.visibleQty, step) : total / this.cfg.slices;
    const slices = Math.min(ALGO_LIMITS.maxSlices, Math.ceil(total / clip - 1e-9));
    return { slices, intervalMs: req.durationMs !== undefined ? Math.round(req.durationMs / slices) : 0 };
  }

  /** Send every child that is due. Safe to call at any time (idempotent per slice). */
  tick(): void {
    if (!this.working) return;
    const now = this.clock.now();
    const active = this.parents.active();
    this.working = active.length > 0;
    // Runs inside a symbol's candle: one parent's failure must not stop that candle or the other parents.
    for (const p of active)
      if (p.nextAt <= now)
        try {
          this.step(p);
        } catch (e) {
          this.log.error({ err: e, parent: p.id }, 'execution algo slice failed');
        }
  }

  /** Send the next child of `p` if it is due and allowed; returns it. `bracket`: a split entry's promise (its first child). */
  private step(p: ParentRow, bracket?: Bracket): Order | undefined {
    const now = this.clock.now();
    const children = this.parents.children(p.id);
    const working = children.some((o) => !isTerminal(o.status));
    if (working) {
      // Its position closed under it (/close, its stop…) while a child works (a resting clip): the parent stops and
      // that child is cancelled, or its fill would open the trade again.
      const closed = this.positionClosed(p, children);
      if (closed !== undefined) {
        this.stop(p.id, closed, true, 'stopped');
        return undefined;
      }
      if (p.algo === 'iceberg') return undefined;
    }
    const n = p.sent + 1;
    const id = childOrderId(p.id, n);
    if (this.journal.getOrder(id)) {
      // Journaled before a crash: it counts; the schedule goes on from the next slice.
      this.advance(p, n, now);
      return undefined;
    }
    const market = this.engine.marketInfo(p.symbol);
    // Its symbol taken out of market.symbols (a config edit, then a restart): nothing can be sent for it any more.
    if (market === undefined) return this.finish(p, 'stopped', `${p.symbol} is no longer traded (not in market.symbols)`, now);
    // After a restart, a slice due before its symbol's first candle waits for it (nothing to price it with).
    if (!(this.engine.lastPrice(p.symbol) > 0)) return undefined;
    const left = this.left(p, children, market.qtyStep);
    if (n > p.slices || !(left > 0)) {
      // After the last slice: done once every child has ended; what ended unfilled goes out again (a few times at most).
      if (working) return undefined;
      if (!(left > 0) || n > p.slices + MAX_CATCH_UP) return this.finish(p, 'done', left > 0 ? `${left} left unfilled` : undefined, now);
    }
    // A plan this far behind (the bot was stopped for hours, no price came) is not carried out at today's prices.
    const late = this.stale(p, n, now);
    if (late !== undefined) return this.finish(p, 'stopped', late, now);
    // A child is due: not when the position the parent works on has gone (it would open another).
    const closed = working ? undefined : this.positionClosed(p, children);
    if (closed !== undefined) return this.finish(p, 'stopped', closed, now);
    // A strategy entry that flips the position: the exit of the other side goes first (a slice now would be
    // judged an exit of that position and refused); the slices wait until it is gone.
    if (p.decisionId !== null && reduces(this.engine.portfolio.positions.get(p.symbol), p.side)) return undefined;
    const qty = n >= p.slices ? left : floorToStep(left / (p.slices - n + 1), market.qtyStep);
    const req: { symbol: string; side: Side; qty: number; price?: number } = { symbol: p.symbol, side: p.side, qty };
    if (p.algo === 'iceberg') req.price = this.clipPrice(p, market.priceStep);
    const strategy = strategyOf(p);
    const promise = this.childBracket(p, children, strategy !== undefined, bracket);
    const { decision, order } = this.engine.manualOrder(req, `${p.createdBy} (${p.id})`, {
      clientOrderId: id,
      parent: p.id,
      // A strategy entry was counted when it was decided: each of its slices continues it.
      continuation: children.length > 0 || strategy !== undefined,
      ...(strategy !== undefined ? { purpose: 'entry' as const, strategy } : {}),
      ...(promise !== undefined ? { bracket: promise } : {}),
    });
    if (!order) {
      // After the schedule, a top-up the risk engine refuses (its limit cut a slice) ends the parent
      // with what it got; a scheduled slice refused stops it, and the trader is told.
      if (n > p.slices) return this.finish(p, 'done', `${left} left unfilled: slice ${n} ${decision.reason}`, now);
      return this.finish(p, 'stopped', `slice ${n} ${decision.reason}`, now);
    }
    this.parents.placed(p.id, order);
    this.advance(p, n, now);
    if (order.status === 'rejected') this.finish(p, 'stopped', `slice ${n} rejected by the venue: ${order.reason ?? 'no reason'}`, now);
    else if (n >= p.slices && isTerminal(order.status)) this.step(p); // filled at once (paper): done now
    return order;
  }

  /**
   * Why slice `n` of `p` is too late to go out (undefined: it is not): more than the larger of two intervals and
   * STALE_AFTER_MS past the time its plan gave it (for a scheduled slice, the plan's last slice; for a top-up
   * after it, its own place in the schedule). An iceberg has no schedule (its next clip goes once one is done; a
   * duration is only the least time between clips): never stale.
   */
  private stale(p: ParentRow, n: number, now: number): string | undefined {
    if (p.algo !== 'twap' || !(p.intervalMs > 0)) return undefined;
    const planned = p.createdAt + (Math.max(n, p.slices) - 1) * p.intervalMs;
    if (!(now > planned + Math.max(2 * p.intervalMs, STALE_AFTER_MS))) return undefined;
    return `slice ${n} is ${duration(now - planned)} past its plan (the bot was stopped, or no price came): not sent at a stale plan; place the rest again if still wanted`;
  }

  /**
   * Start-up: the parents the last run left active, one line each for the start notice. One already far past
   * its plan is stopped now, with the reason (see stale); the rest resume. (A replay's candle clock is not at
   * the present yet: its parents are judged as their slices come due.)
   */
  resumeAtStart(): string[] {
    const now = this.clock.now();
    return this.parents.active().map((p) => {
      const late = this.stale(p, p.sent + 1, now);
      if (late === undefined) return `${this.describe(p)}; resumes now, /cancel ${p.id} stops it`;
      this.stop(p.id, late, true, 'stopped');
      return `${this.describe(p)}; stopped: ${late}`;
    });
  }

  /** "TWAP sk-000001 buy 0.00673 BTC/USDT: 1 of 5 slices sent, 0.00135 filled" (start notice, /status). */
  describe(p: ParentRow): string {
    const { qty } = forMarket(this.engine.marketInfo(p.symbol));
    const { filledQty } = this.progress(p);
    return `${p.algo.toUpperCase()} ${p.id} ${p.side} ${qty(p.totalQty)} ${p.symbol}: ${p.sent} of ${p.slices} slices sent, ${qty(filledQty)} filled`;
  }

  /** The active parents (for /status). */
  active(): ParentRow[] {
    return this.parents.active();
  }

  /**
   * Why no further child may go out, because of the position the parent works on; undefined: it may.
   * Manual and strategy parents alike (a child is an ordinary order: with the position gone it would open one).
   * An exit (its first child reduced the position) ends once that position is gone or has turned: a further
   * sell would open a short. An entry that has filled ends once its position has closed (its stop, its
   * take-profit, /close, max hold, a strategy exit): a further buy would open a new trade.
   */
  private positionClosed(p: ParentRow, children: Order[]): string | undefined {
    const first = children.find((o) => o.clientOrderId === childOrderId(p.id, 1)) ?? children[0];
    if (first === undefined) return undefined;
    const pos = this.engine.portfolio.positions.get(p.symbol);
    if (first.reduceOnly)
      return reduces(pos, p.side)
        ? undefined
        : 'the position it was closing has closed (a stop, a take-profit or /close): nothing left to close';
    if (!children.some((o) => o.filledQty > 0)) return undefined;
    if (onSideOf(pos, p.side)) return undefined;
    return 'the position it was building has closed (a stop, a take-profit or /close)';
  }

  /**
   * The stop-loss / take-profit a child carries (its fill applies them to the whole position); undefined: the
   * defaults at its price. Once the parent has built part of its position: that position's own levels, so a
   * /sl or /tp the trader set meanwhile is not undone by the next child (the risk engine may still tighten the
   * stop of an add). Before that, a split strategy entry's slices carry what the entry promised.
   */
  private childBracket(p: ParentRow, children: Order[], splitEntry: boolean, bracket?: Bracket): Bracket | undefined {
    const pos = this.engine.portfolio.positions.get(p.symbol);
    if (pos !== undefined && onSideOf(pos, p.side) && children.some((o) => o.filledQty > 0 && !o.reduceOnly)) return bracketOf(pos);
    return splitEntry ? (bracket ?? this.promised(p, children)) : undefined;
  }

  /**
   * The stop-loss / take-profit a split entry promised, as its first child carries them (journaled with it, so
   * a restart keeps them); undefined when that child is not journaled (the slice then takes the defaults).
   */
  private promised(p: ParentRow, children: Order[]): Bracket | undefined {
    const first = children.find((o) => o.clientOrderId === childOrderId(p.id, 1));
    return first === undefined ? undefined : bracketOf(first);
  }

  /** What is still to be placed: a child that ended unfilled (cancelled, or lost to a crash before it reached the venue) leaves its part. */
  private left(p: ParentRow, children: Order[], step: number): number {
    const planned = children.reduce((t, o) => t + (isTerminal(o.status) ? o.filledQty : (o.qty ?? 0)), 0);
    return floorToStep(p.totalQty - planned, step);
  }

  private clipPrice(p: ParentRow, tick: number): number {
    const last = this.engine.lastPrice(p.symbol);
    const off = (p.limitOffsetBps / 10_000) * (p.side === 'buy' ? -1 : 1);
    return floorToStep(last * (1 + off), tick);
  }

  private advance(p: ParentRow, n: number, now: number): void {
    p.sent = n;
    p.nextAt = now + p.intervalMs;
    this.parents.update(p.id, { sent: n, nextAt: p.nextAt }, now);
  }

  private finish(p: ParentRow, status: ParentRow['status'], reason: string | undefined, now: number): undefined {
    p.status = status;
    p.reason = reason ?? null;
    this.parents.update(p.id, { status, reason: p.reason }, now);
    const log = status === 'done' ? this.log.info.bind(this.log) : this.log.warn.bind(this.log);
    log({ parent: p.id, status, reason }, `parent order ${status}`);
    if (status === 'stopped')
      this.engine.onAlert({
        type: 'order_rejected',
        severity: 'warning',
        title: `${p.algo.toUpperCase()} ${p.id} stopped`,
        message: `${p.side} ${p.symbol}: ${reason ?? 'stopped'}; ${p.sent} of ${p.slices} slices were sent.`,
        data: { parentId: p.id },
      });
    else if (status === 'done' && reason !== undefined)
      // Done with part of it unfilled (the reason says how much and why): the trader hears of it once.
      this.engine.onAlert({
        type: 'order_filled',
        severity: 'info',
        title: `${p.algo.toUpperCase()} ${p.id} done, part unfilled`,
        message: `${p.side} ${p.symbol}: ${reason}.`,
        data: { parentId: p.id },
      });
    return undefined;
  }

  /** Stop a parent: no further children; its working child is cancelled. */
  stop(id: string, why: string, cancelChildren = true, status: 'cancelled' | 'stopped' = 'cancelled'): ParentRow | undefined {
    const p = this.find(id);
    if (!p || p.status !== 'active') return p;
    this.finish(p, status, why, this.clock.now());
    if (cancelChildren)
      for (const o of this.parents.children(p.id)) {
        const live = this.engine.liveOrders.get(o.clientOrderId);
        // A child not sent yet is cancelled only when it is held back (an exit waiting for the stop's cancel):
        // one between its journal write and the venue is in flight, and the venue answers it.
        if (live && !isTerminal(live.status) && (live.status !== 'new' || this.engine.isHeld(live))) this.engine.cancel(live, why);
      }
    return p;
  }

  /** Stop the active parents `which` names; returns how many stopped. */
  stopAll(why: string, which: AlgoStop): number {
    const active = this.parents
      .active()
      .filter((p) => (which.symbol === undefined || p.symbol === which.symbol) && (!which.entriesOnly || this.isEntry(p)));
    for (const p of active) this.stop(p.id, why, which.cancelChildren, 'stopped');
    return active.length;
  }

  /** A parent that opens or adds to a position (what a pause stops); one that reduces a position keeps working. */
  private isEntry(p: ParentRow): boolean {
    if (p.decisionId !== null) return true; // a split strategy entry
    return !reduces(this.engine.portfolio.positions.get(p.symbol), p.side); // the engine's own test for its children
  }

  /** A parent by id (case-insensitive, as /cancel matches order ids). */
  find(id: string): ParentRow | undefined {
    return this.parents.get(id) ?? this.parents.get(id.toLowerCase());
  }

  /** The parent whose child `clientOrderId` is (`<parent>-<n>`), if any. */
  parentOf(clientOrderId: string): ParentRow | undefined {
    const id = parentIdOf(clientOrderId);
    return id === undefined ? undefined : this.parents.get(id);
  }

  progress(p: ParentRow): ParentProgress {
    const children = this.parents.children(p.id);
    return { parent: p, children, filledQty: children.reduce((t, o) => t + o.filledQty, 0) };
  }

  /** Every active parent, whatever its age, then those of the 50 newest finished in the last hour (engine clock). */
  shown(): ParentProgress[] {
    const now = this.clock.now();
    const active = this.parents.active().sort((a, b) => b.createdAt - a.createdAt);
    const finished = this.parents.recent(50).filter((p) => p.status !== 'active' && now - p.updatedAt < 3_600_000);
    return [...active, ...finished].map((p) => this.progress(p));
  }
}
