// The grid strategy: resting limit orders at fixed levels, each filled one replaced by its opposite.
// Each pair of neighbouring levels (k, k+1) works one order at a time: flat, it buys at level k (or,
// shorts allowed, sells at k+1); holding, it sells what it bought at k+1 (or buys back at k). An order's
// client id is `<bot>-<grid>-<k>-<generation>`: journaled (as intent, through the engine) before it is
// sent, so after a restart the pair's orders are read back from the journal, its working one is the
// engine's live order (reconciled with the venue), and a pair never gets a second order.
import type { AlertInput } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { floorToStep } from '../core/num.ts';
import { isTerminal } from '../core/order-state.ts';
import type { Candle, MarketInfo, MarketType, Order, OrderPurpose, Side } from '../core/types.ts';
import { money, counted, price } from '../core/format.ts';
import type { Journal } from '../journal/journal.ts';
import type { RiskDecision } from '../risk/types.ts';
import type { Strategy } from '../strategy/types.ts';
import { gridFingerprint, type GridParams } from './config.ts';
import { gridOrders } from './journal.ts';
import { flatEntry, gridLevels } from './levels.ts';
import { readGrid, writeGrid, type GridRecord } from './state.ts';

/** What a grid needs from the engine (it places orders through the risk engine like any other). */
export interface GridHost {
  readonly liveOrders: ReadonlyMap<string, Order>;
  readonly portfolio: { freeCash(): number; readonly positions: ReadonlyMap<string, { side: 'long' | 'short'; qty: number }> };
  marketInfo(symbol: string): MarketInfo | undefined;
  lastPrice(symbol: string): number;
  resumeTs(symbol: string): number;
  manualOrder(
    req: { symbol: string; side: Side; qty?: number; price?: number },
    by: string,
    opts: { clientOrderId?: string; continuation?: boolean; purpose?: 'grid'; stopLoss?: number },
  ): { decision: RiskDecision; order?: Order };
  cancel(order: Order): void;
  closePosition(symbol: string, by: string, purpose?: OrderPurpose, ignoring?: ReadonlySet<string>): Order | null;
  onAlert(alert: AlertInput): void;
}

/** A refused placement is tried again after this long (engine clock), not on every candle. */
const RETRY_MS = 5 * 60_000;

interface Pair {
  k: number;
  /** Generations journaled so far (the next order is gen + 1). */
  gen: number;
  /** The pair's last order (working, or ended). */
  order: Order | undefined;
  /** Whose fills are already booked below. */
  booked: string | undefined;
  held: number;
  dir: 'long' | 'short' | null;
  entryAvg: number;
  entryFees: number;
  profit: number;
  roundTrips: number;
  retryAt: number;
  refused: string | undefined;
}

export interface GridLevelView {
  k: number;
  price: number;
  /** The working order resting at this level, if any. */
  order: { clientOrderId: string; side: Side; qty: number; filledQty: number; status: string } | null;
}

export interface GridView {
  symbol: string;
  id: string;
  status: GridRecord['status'];
  reason: string | null;
  params: GridParams;
  levels: GridLevelView[];
  /** Base quantity the grid holds (bought and not yet sold; negative: short). */
  held: number;
  fills: number;
  roundTrips: number;
  /** Realized profit of completed round trips, net of both legs' fees (quote). */
  profit: number;
  /** Why a pair's last placement was refused (risk), if one was. */
  refusals: string[];
  market: MarketInfo | undefined;
}

export interface GridDeps {
  journal: Journal;
  clock: Clock;
  log: Logger;
  botId: string;
  /** Perps with allowShort: sells above the price open shorts. */
  shorts: boolean;
  marketType: MarketType;
  /** The larger of the venue's fees (cash a buy needs on top of its notional). */
  fee: number;
  /** Approvals are on for this notional (the approval gate): a new grid then waits for /grid start. */
  asks?: (notional: number) => boolean;
}

/** A new grid's reason while approvals hold it back. */
export const AWAITING_APPROVAL = 'waiting for your approval: /grid start places its orders';

/** One symbol's grid. */
export class GridBook {
  private host: GridHost | undefined;
  private record: GridRecord | undefined;
  private pairs: Pair[] = [];
  private levels: number[] = [];
  private fills = 0;

  constructor(
    readonly symbol: string,
    readonly params: GridParams,
    private readonly d: GridDeps,
  ) {}

  /** The engine the grid trades through (set once the kernel has built it). */
  attach(host: GridHost): void {
    this.host = host;
  }

  /** The strategy the engine runs for this symbol: it signals nothing, it works the grid. */
  strategy(): Strategy {
    return {
      name: 'grid',
      warmup: 0,
      onCandle: (candle) => {
        // Candles replayed after a restart only warm strategies up: the journal has their effects.
        if (this.host !== undefined && candle.ts > this.host.resumeTs(this.symbol)) this.onCandle(candle);
        return null;
      },
    };
  }

  private get idPrefix(): string {
    return `${this.d.botId}-${this.record!.id}-`;
  }

  /** Load (or start) the grid: its record, then every pair's orders from the journal. */
  private load(): GridRecord {
    if (this.record) return this.record;
    const host = this.host!;
    const now = this.d.clock.now();
    const fp = gridFingerprint(this.symbol, this.params);
    const saved = readGrid(this.d.journal, this.symbol);
    if (saved.bad !== undefined)
      this.d.log.warn({ symbol: this.symbol, problem: saved.bad }, 'saved grid record unreadable: a new grid starts');
    let rec = saved.record;
    if (rec && rec.fingerprint !== fp) {
      // The config changed: the old grid's working orders go, a new grid starts.
      const old = `${this.d.botId}-${rec.id}-`;
      let n = 0;
      for (const o of [...host.liveOrders.values()]) {
        if (o.clientOrderId.startsWith(old) && o.status !== 'new') {
          host.cancel(o);
          n++;
        }
      }
      this.d.log.warn({ symbol: this.symbol, old: rec.id, cancelled: n }, 'grid config changed: the old grid is replaced');
      rec = null;
    }
    const tick = host.marketInfo(this.symbol)?.priceStep ?? 0;
    this.levels = gridLevels(this.params.lower, this.params.upper, this.params.levels, this.params.spacing, tick);
    if (!rec) {
      // With approvals on, a new grid is asked for once, as a whole (its level orders are not proposals).
      const commits = this.buysNotional();
      const asks = this.d.asks?.(commits) === true;
      rec = {
        id: this.d.journal.nextClientOrderId('g', now),
        fingerprint: fp,
        status: asks ? 'stopped' : 'active',
        reason: asks ? AWAITING_APPROVAL : null,
        startedAt: now,
        updatedAt: now,
      };
      writeGrid(this.d.journal, this.symbol, rec);
      this.d.log.info({ symbol: this.symbol, grid: rec.id, status: rec.status }, asks ? 'grid waits for approval' : 'grid started');
      if (asks) {
        const m = host.marketInfo(this.symbol);
        const px = (x: number) => price(x, m?.priceStep);
        host.onAlert({
          type: 'approval_pending',
          severity: 'warning',
          title: `Grid ${this.symbol} waits for your approval`,
          message:
            `Approvals are on, so the grid places no order until an admin sends /grid start (it asks first): ` +
            `${this.levels.length} levels ${px(this.params.lower)}–${px(this.params.upper)}, its buys commit up to ${money(commits, m?.quote ?? '')}.`,
          key: `grid-approval:${this.symbol}`,
        });
      }
    }
    this.record = rec;
    this.pairs = [];
    this.fills = 0;
    for (let k = 0; k < this.levels.length - 1; k++) this.pairs.push(emptyPair(k));
    for (const { k, gen, order } of gridOrders(this.d.journal, this.idPrefix)) {
      const p = this.pairs[k];
      if (!p) continue;
      p.gen = Math.max(p.gen, gen);
      const live = host.liveOrders.get(order.clientOrderId);
      if (live)
        p.order = live; // the engine's own object: it sees the venue's updates
      else {
        p.order = order;
        this.book(p, order);
      }
    }
    return rec;
  }

  /** Book an ended order's fills into its pair (once). */
  private book(p: Pair, o: Order): void {
    if (p.booked === o.clientOrderId) return;
    p.booked = o.clientOrderId;
    if (!(o.filledQty > 0)) return;
    this.fills++;
    const buy = o.side === 'buy';
    const adds = p.dir === null || (p.dir === 'long') === buy;
    if (adds) {
      p.dir = buy ? 'long' : 'short';
      p.entryAvg = (p.entryAvg * p.held + o.avgPrice * o.filledQty) / (p.held + o.filledQty);
      p.held += o.filledQty;
      p.entryFees += o.fee;
      return;
    }
    const q = Math.min(o.filledQty, p.held);
    const share = p.held > 0 ? q / p.held : 1;
    const sign = p.dir === 'long' ? 1 : -1;
    p.profit += sign * (o.avgPrice - p.entryAvg) * q - o.fee - p.entryFees * share;
    p.entryFees -= p.entryFees * share;
    p.held -= q;
    if (p.held <= this.dust()) this.flat(p);
    p.roundTrips++;
  }

  private flat(p: Pair): void {
    p.held = 0;
    p.dir = null;
    p.entryAvg = 0;
    p.entryFees = 0;
  }

  /** What the grid's buys commit at most: one per pair, at its lower level. */
  private buysNotional(): number {
    let sum = 0;
    for (let k = 0; k < this.levels.length - 1; k++) sum += this.params.quotePerLevel ?? (this.params.qtyPerLevel ?? 0) * this.levels[k]!;
    return sum;
  }

  private dust(): number {
    return (this.host?.marketInfo(this.symbol)?.qtyStep ?? 0) / 2;
  }

  /** Each candle: stop-out check, then book what ended and place what is missing. */
  onCandle(candle: Candle): void {
    const rec = this.load();
    if (rec.status !== 'active') return;
    const p = this.params;
    if ((p.stopBelow !== undefined && candle.low <= p.stopBelow) || (p.stopAbove !== undefined && candle.high >= p.stopAbove)) {
      const below = p.stopBelow !== undefined && candle.low <= p.stopBelow;
      this.stopOut(
        `${this.symbol} traded ${below ? `at or below ${p.stopBelow}` : `at or above ${p.stopAbove}`} (low ${candle.low}, high ${candle.high})`,
      );
      return;
    }
    this.work();
  }

  /**
   * A grid order filled between two candles (a live venue): its pair's opposite goes out now, not at the
   * next close (up to a timeframe later). After the engine has handled the update (a microtask); only a
   * fill (the venue reports its trades before the `filled` that includes them), never a cancel or a
   * rejection: those wait for the candle, so a venue that keeps refusing is asked once per candle.
   */
  onOrderFilled(o: Order): void {
    const rec = this.record;
    if (rec === undefined || rec.status !== 'active' || o.purpose !== 'grid' || !o.clientOrderId.startsWith(this.idPrefix)) return;
    if (!(o.filledQty > 0)) return;
    const pair = this.pairs.find((p) => p.order?.clientOrderId === o.clientOrderId);
    if (pair === undefined) return;
    queueMicrotask(() => {
      if (this.record?.status !== 'active' || pair.order?.clientOrderId !== o.clientOrderId) return; // stopped, or placed since
      const host = this.host!;
      const price = host.lastPrice(this.symbol);
      const market = host.marketInfo(this.symbol);
      if (!market || !(price > 0)) return;
      try {
        this.book(pair, o);
        this.place(pair, price, market, this.d.clock.now());
      } catch (e) {
        // Out of the engine's call stack: nothing above would catch it. The next candle tries again.
        this.d.log.error({ symbol: this.symbol, pair: pair.k, err: e }, 'grid: placing the opposite of a fill failed');
        host.onAlert({
          type: 'engine',
          severity: 'warning',
          title: `Grid ${this.symbol}: opposite order not placed`,
          message: `After ${o.clientOrderId} filled: ${e instanceof Error ? e.message : String(e)}. The next candle tries again.`,
          key: `grid-opposite:${this.symbol}`,
        });
      }
    });
  }

  /** Book ended orders, place each pair's next one. */
  private work(): void {
    const host = this.host!;
    const now = this.d.clock.now();
    const price = host.lastPrice(this.symbol);
    const market = host.marketInfo(this.symbol);
    if (!market || !(price > 0)) return;
    const due: Pair[] = [];
    for (const pair of this.pairs) {
      const o = pair.order;
      if (o && !isTerminal(o.status)) continue; // one order per pair at a time
      if (o) this.book(pair, o);
      if (pair.retryAt <= now) due.push(pair);
    }
    // The pairs nearest the price first: when cash runs short, the far levels wait.
    const mid = (p: Pair) => Math.abs(this.levels[p.k]! + this.levels[p.k + 1]! - 2 * price);
    if (due.length > 1) due.sort((a, b) => mid(a) - mid(b));
    for (const pair of due) this.place(pair, price, market, now);
  }

  private place(pair: Pair, price: number, market: MarketInfo, now: number): void {
    const host = this.host!;
    const lo = this.levels[pair.k]!;
    const hi = this.levels[pair.k + 1]!;
    let side: Side;
    let at: number;
    let qty: number;
    if (pair.dir !== null && pair.held > this.dust()) {
      side = pair.dir === 'long' ? 'sell' : 'buy';
      at = pair.dir === 'long' ? hi : lo;
      qty = floorToStep(pair.held, market.qtyStep);
    } else {
      const entry = flatEntry(this.levels, pair.k, price, this.d.shorts);
      if (entry === null) return;
      side = entry;
      at = entry === 'buy' ? lo : hi;
      qty = floorToStep(this.params.qtyPerLevel ?? this.params.quotePerLevel! / at, market.qtyStep);
    }
    if (!(qty > 0)) return;
    const short = this.cashShort(pair, side, qty * at, market);
    if (short !== undefined) return this.refuse(pair, short, now);
    const stop = side === 'buy' ? this.params.stopBelow : this.params.stopAbove;
    const id = `${this.idPrefix}${pair.k}-${pair.gen + 1}`;
    const { decision, order } = host.manualOrder({ symbol: this.symbol, side, qty, price: at }, `grid ${this.record!.id}`, {
      clientOrderId: id,
      continuation: true,
      purpose: 'grid',
      ...(stop !== undefined ? { stopLoss: stop } : {}),
    });
    if (!order) {
      if (pair.dir !== null && (decision.rule === 'no_position' || decision.rule === 'not_reducing')) {
        // What the pair held was closed outside the grid (/close, /flatten): the pair starts over.
        this.d.log.warn({ symbol: this.symbol, pair: pair.k, reason: decision.reason }, 'grid pair inventory gone: the pair is flat again');
        this.flat(pair);
        return;
      }
      return this.refuse(pair, decision.reason, now);
    }
    pair.gen++;
    pair.order = order;
    pair.refused = undefined;
  }

  private refuse(pair: Pair, reason: string, now: number): void {
    pair.retryAt = now + RETRY_MS;
    if (pair.refused !== reason) this.d.log.warn({ symbol: this.symbol, pair: pair.k, reason }, 'grid order refused');
    pair.refused = reason;
  }

  /**
   * Spot: the venue locks the quote of resting buys, which the engine's free cash does not subtract; a buy
   * the cash left cannot pay waits here rather than being refused by the venue (an order error).
   */
  private cashShort(pair: Pair, side: Side, notional: number, market: MarketInfo): string | undefined {
    if (side !== 'buy' || pair.dir === 'short' || this.d.marketType !== 'spot') return undefined;
    let resting = 0;
    for (const p of this.pairs) {
      const o = p.order;
      if (o && !isTerminal(o.status) && o.side === 'buy' && o.price !== undefined) resting += ((o.qty ?? 0) - o.filledQty) * o.price;
    }
    const left = this.host!.portfolio.freeCash() - resting;
    const need = notional * (1 + this.d.fee);
    if (need <= left) return undefined;
    return `free cash after the grid's resting buys is ${money(Math.max(0, left), market.quote)}, this buy needs ${money(need, market.quote)}`;
  }

  /** Out of range: cancel every level order, close the position at market, critical alert. */
  stopOut(why: string): void {
    const host = this.host!;
    const cancelled = this.cancelAll();
    const closing = host.closePosition(this.symbol, `grid ${this.record!.id} stop-out`, 'exit', cancelled);
    this.finish('stopped', `stop-out: ${why}`);
    host.onAlert({
      type: 'risk_halt',
      severity: 'critical',
      title: `Grid ${this.symbol} stopped out`,
      message: `${why}: ${counted(cancelled.size, 'grid order')} cancelled; ${closing ? `closing the position at market (${closing.clientOrderId})` : 'no position to close'}. The grid stays stopped (also after a restart) until /grid start.`,
      key: `grid-stop:${this.symbol}`,
    });
  }

  /** `/grid stop`: the grid's orders are cancelled; the position stays. */
  stop(by: string): { cancelled: number } | { error: string } {
    const rec = this.load();
    if (rec.status !== 'active') return { error: `the ${this.symbol} grid is already ${rec.status}` };
    const cancelled = this.cancelAll();
    this.finish('cancelled', `stopped by ${by}`);
    return { cancelled: cancelled.size };
  }

  /** `/flatten`: it cancels every order (the grid's too) and closes the position; the grid stops until `/grid start`. */
  stopForFlatten(by: string): void {
    if (this.load().status !== 'active') return;
    this.finish('cancelled', `stopped by /flatten (${by})`);
  }

  /** `/grid start`: a stopped grid starts again (a new grid id: fresh generations, the old orders stay history). */
  restart(by: string): { id: string } | { error: string } {
    const rec = this.load();
    if (rec.status === 'active') return { error: `the ${this.symbol} grid is already running (${rec.id})` };
    const now = this.d.clock.now();
    const fresh: GridRecord = {
      ...rec,
      id: this.d.journal.nextClientOrderId('g', now),
      status: 'active',
      reason: null,
      startedAt: now,
      updatedAt: now,
    };
    writeGrid(this.d.journal, this.symbol, fresh);
    this.record = undefined;
    this.load();
    this.d.log.info({ symbol: this.symbol, grid: fresh.id, by }, 'grid started again');
    return { id: fresh.id };
  }

  private cancelAll(): Set<string> {
    const out = new Set<string>();
    for (const pair of this.pairs) {
      const o = pair.order;
      if (!o || isTerminal(o.status)) continue;
      const live = this.host!.liveOrders.get(o.clientOrderId) ?? o;
      if (live.status !== 'new') this.host!.cancel(live);
      out.add(o.clientOrderId);
    }
    return out;
  }

  private finish(status: GridRecord['status'], reason: string): void {
    const now = this.d.clock.now();
    const rec: GridRecord = { ...this.record!, status, reason, updatedAt: now };
    this.record = rec;
    writeGrid(this.d.journal, this.symbol, rec);
    this.d.log.warn({ symbol: this.symbol, grid: rec.id, status, reason }, `grid ${status}`);
  }

  /** What the pairs booked, never more than the position holds: a /flatten or /close outside the grid sold it. */
  private heldNow(): number {
    const booked = this.pairs.reduce((t, p) => t + (p.dir === 'short' ? -p.held : p.held), 0);
    const pos = this.host!.portfolio.positions.get(this.symbol);
    const inPosition = pos === undefined ? 0 : pos.side === 'short' ? -pos.qty : pos.qty;
    if (Math.sign(booked) !== Math.sign(inPosition)) return 0;
    return Math.sign(booked) * Math.min(Math.abs(booked), Math.abs(inPosition));
  }

  view(): GridView | null {
    if (!this.host) return null;
    const rec = this.load();
    for (const p of this.pairs) if (p.order && isTerminal(p.order.status)) this.book(p, p.order);
    const resting = new Map<number, Order>();
    for (const p of this.pairs) {
      const o = p.order;
      if (!o || isTerminal(o.status) || o.price === undefined) continue;
      resting.set(this.levels.indexOf(o.price), o);
    }
    return {
      symbol: this.symbol,
      id: rec.id,
      status: rec.status,
      reason: rec.reason,
      params: this.params,
      levels: this.levels.map((price, k) => {
        const o = resting.get(k);
        return {
          k,
          price,
          order: o ? { clientOrderId: o.clientOrderId, side: o.side, qty: o.qty ?? 0, filledQty: o.filledQty, status: o.status } : null,
        };
      }),
      held: this.heldNow(),
      fills: this.fills,
      roundTrips: this.pairs.reduce((t, p) => t + p.roundTrips, 0),
      profit: this.pairs.reduce((t, p) => t + p.profit, 0),
      refusals: this.pairs.filter((p) => p.refused !== undefined).map((p) => `levels ${p.k}–${p.k + 1}: ${p.refused}`),
      market: this.host.marketInfo(this.symbol),
    };
  }
}

const emptyPair = (k: number): Pair => ({
  k,
  gen: 0,
  order: undefined,
  booked: undefined,
  held: 0,
  dir: null,
  entryAvg: 0,
  entryFees: 0,
  profit: 0,
  roundTrips: 0,
  retryAt: -Infinity,
  refused: undefined,
});

/** Every symbol's grid: what the kernel wires and /grid reads. */
export class GridRunner {
  readonly books = new Map<string, GridBook>();

  constructor(symbols: readonly string[], params: (symbol: string) => GridParams, deps: GridDeps) {
    for (const s of symbols) this.books.set(s, new GridBook(s, params(s), deps));
  }

  attach(host: GridHost): void {
    for (const b of this.books.values()) b.attach(host);
  }

  /** A grid order filled between candles (see GridBook.onOrderFilled). */
  onOrderFilled(o: Order): void {
    this.books.get(o.symbol)?.onOrderFilled(o);
  }

  /** `/flatten` stops every grid (see GridBook.stopForFlatten). */
  stopForFlatten(by: string): void {
    for (const b of this.books.values()) b.stopForFlatten(by);
  }

  strategy(symbol: string): Strategy {
    return this.books.get(symbol)!.strategy();
  }

  views(): GridView[] {
    return [...this.books.values()].map((b) => b.view()).filter((v): v is GridView => v !== null);
  }
}
