/*
 * The paper exchange's books: balances, orders, positions, fills, and how a change to them is
 * committed. Persistence: with a `store`, every change of one step (a submit, a cancel, or one
 * candle's matching) is written in ONE transaction before the listener hears of it; on construction
 * the exchange reloads its books from the store (startingBalances apply only to an empty store).
 * The layers above: checks.ts (what an order may do), matching.ts (the fill model), venue.ts.
 */
import { DEFAULT_MMR, liquidationPrice } from '../../core/accounting.ts';
import type { NetPosition } from '../../core/accounting.ts';
import type { Clock } from '../../core/clock.ts';
import { TERMINAL_STATUSES } from '../../core/types.ts';
import type { Balance, Fill, MarketInfo, MarketType, OrderStatus, Side } from '../../core/types.ts';
import { defaultMarket } from '../default-market.ts';
import type { ExchangeListener, OrderUpdate } from '../types.ts';
import type { PaperChanges, PaperOrder, PaperPosition, PaperSeq, PaperState, PaperStore } from './store.ts';

export interface PaperExchangeOptions {
  clock: Clock;
  /** 'spot' (long only) | 'perp' (USDT-margined, long/short). */
  marketType: MarketType;
  /** Precision/limits per symbol; other symbols are rejected. */
  markets: MarketInfo[];
  /** e.g. { USDT: 10000 } — applied only when the store is empty (or there is no store). */
  startingBalances: Record<string, number>;
  makerFee: number;
  takerFee: number;
  /** Applied to market and stop-market fills (and caps nothing else). */
  slippageBps: number;
  /** Cap each order's fill per candle at this fraction of the candle's volume; null = off. */
  maxVolumeParticipation?: number | null;
  /** Maintenance margin rate for the liquidation price (default DEFAULT_MMR). */
  mmr?: number;
  /** Persistence in the journal's paper_* tables; absent = memory only (backtests). */
  store?: PaperStore;
}

export interface SymState {
  readonly symbol: string;
  readonly market: MarketInfo;
  /** Quantity noise tolerance (a millionth of a step). */
  readonly eps: number;
  /** Working orders in arrival order (terminal ones are removed; lazily while matching). */
  working: PaperOrder[];
  compact: boolean;
  lastTs: number;
  lastPrice: number;
  pos: PaperPosition | null;
  /** Liquidation price of a perp position, NaN otherwise (read on the hot path). */
  liq: number;
  fills: Fill[];
  /** No more candles will come (a replay ended): market orders fill at once at the last price. */
  frozen: boolean;
}

/** Queued for the listener: a Fill (has tradeId) or an OrderUpdate. */
type VenueEvent = Fill | OrderUpdate;

const NO_TS = Number.MIN_SAFE_INTEGER;
/**
 * Finished orders and fills kept in memory per venue/symbol without a store (a backtest's venue). With
 * a store, which answers for older ones, only a few: history held for long is promoted out of the
 * young heap, and its collection lengthens GC pauses in the decision path.
 */
const HISTORY = 1000;
const HISTORY_WITH_STORE = 64;
export const isWorking = (o: PaperOrder): boolean => o.status === 'open' || o.status === 'partially_filled';
export const tolerance = (x: number): number => 1e-9 * Math.max(1, Math.abs(x));

export abstract class PaperBooks {
  readonly marketType: MarketType;

  protected readonly clock: Clock;
  protected readonly perp: boolean;
  protected readonly makerFee: number;
  protected readonly takerFee: number;
  protected readonly slipUp: number;
  protected readonly slipDown: number;
  /** 0 = no volume cap. */
  protected readonly maxPart: number;
  protected readonly mmr: number;
  protected readonly store: PaperStore | null;
  readonly journalBacked: boolean;
  protected listener: ExchangeListener | null = null;

  protected readonly syms = new Map<string, SymState>();
  /** Last symbol looked up by processCandle (saves the map lookup on single-symbol runs). */
  protected hot: SymState | undefined;
  protected readonly balances = new Map<string, Balance>();
  /** Every order the venue accepted (for duplicate ids and fetchOrder). */
  protected readonly orders = new Map<string, PaperOrder>();
  protected readonly seq: PaperSeq = { order: 0, trade: 0 };
  protected depth = 0;
  protected events: VenueEvent[] = [];

  // Changes waiting for the store (tracked only when there is one).
  protected readonly chOrders = new Set<PaperOrder>();
  protected readonly chBalances = new Set<string>();
  protected readonly chPositions = new Set<string>();
  protected chFills: Fill[] = [];
  protected chSeq = false;

  constructor(opts: PaperExchangeOptions) {
    this.clock = opts.clock;
    this.marketType = opts.marketType;
    this.perp = opts.marketType === 'perp';
    this.makerFee = opts.makerFee;
    this.takerFee = opts.takerFee;
    this.slipUp = 1 + opts.slippageBps / 1e4;
    this.slipDown = 1 - opts.slippageBps / 1e4;
    this.maxPart = opts.maxVolumeParticipation ?? 0;
    this.mmr = opts.mmr ?? DEFAULT_MMR;
    this.store = opts.store ?? null;
    this.journalBacked = this.store !== null;
    for (const m of opts.markets) this.syms.set(m.symbol, this.newSym(m));

    const saved = this.store?.load() ?? null;
    if (saved !== null) this.restore(saved);
    else {
      for (const [asset, amount] of Object.entries(opts.startingBalances)) {
        this.balances.set(asset, { asset, free: amount, locked: 0 });
        this.chBalances.add(asset);
      }
      this.chSeq = true;
      this.flush(); // a new paper account: persist its opening balances
    }
  }

  // ---- books ------------------------------------------------------------------------------------

  /** Whether an order on `side` would reduce the symbol's position. */
  protected reduces(st: SymState, side: Side): boolean {
    const p = st.pos;
    return p !== null && (p.side === 'long') === (side === 'sell');
  }

  /** What a reduce-only order on `side` may still trade: the opposite position (spot: held base). */
  protected reducible(st: SymState, side: Side): number {
    const p = st.pos;
    if (p === null || !this.reduces(st, side)) return 0;
    return this.perp ? p.qty : Math.min(p.qty, this.freeOf(st.market.base));
  }

  protected setPosition(st: SymState, np: NetPosition | null, leverage: number, realized: number, fee: number, ts: number): void {
    const prev = st.pos;
    if (this.store !== null) this.chPositions.add(st.symbol);
    if (np === null) {
      st.pos = null;
      st.liq = Number.NaN;
      return;
    }
    let p: PaperPosition;
    if (prev !== null && prev.side === np.side) {
      p = prev;
      p.qty = np.qty;
      p.entryPrice = np.entryPrice;
      p.realizedPnl += realized;
      p.fees += fee;
    } else {
      p = {
        symbol: st.symbol,
        side: np.side,
        qty: np.qty,
        entryPrice: np.entryPrice,
        leverage,
        margin: 0,
        openedAt: ts,
        realizedPnl: 0,
        fees: fee,
      };
      st.pos = p;
    }
    if (this.perp) {
      p.margin = (p.qty * p.entryPrice) / p.leverage;
      p.liquidationPrice = liquidationPrice(p.side, p.entryPrice, p.leverage, this.mmr);
      st.liq = p.liquidationPrice;
    } else p.margin = p.qty * p.entryPrice;
  }

  /** Cancel the symbol's reduce-only orders that no longer reduce its position. */
  protected dropStaleReduceOnly(st: SymState, reason: string): void {
    const w = st.working;
    for (let i = 0; i < w.length; i++) {
      const o = w[i]!;
      if (o.reduceOnly && isWorking(o) && !this.reduces(st, o.side)) this.finish(st, o, 'cancelled', reason);
    }
  }

  protected recordFill(st: SymState, fill: Fill): void {
    if (this.store === null) st.fills.push(fill);
    else {
      this.chFills.push(fill);
      this.chSeq = true;
    }
    this.events.push(fill);
  }

  /** End a working order: unlock its funds, take it off the book, report it. */
  protected finish(st: SymState, o: PaperOrder, status: OrderStatus, reason: string): void {
    const ts = this.clock.now();
    o.status = status;
    o.reason = reason;
    o.updatedAt = ts;
    this.retire(st, o);
    this.dirty(o);
    this.events.push(this.updateOf(o, ts));
  }

  protected retire(st: SymState, o: PaperOrder): void {
    if (o.locked !== 0) {
      const b = this.bal(o.lockAsset);
      b.free += o.locked;
      b.locked -= o.locked;
      snap(b);
      o.locked = 0;
    }
    if (this.depth > 0)
      st.compact = true; // matching walks the array by index: compact afterwards
    else {
      const i = st.working.indexOf(o);
      if (i >= 0) st.working.splice(i, 1);
    }
  }

  protected bal(asset: string): Balance {
    let b = this.balances.get(asset);
    if (b === undefined) {
      b = { asset, free: 0, locked: 0 };
      this.balances.set(asset, b);
    }
    if (this.store !== null) this.chBalances.add(asset);
    return b;
  }

  protected freeOf(asset: string): number {
    return this.balances.get(asset)?.free ?? 0;
  }

  protected assetPrice(asset: string): number {
    for (const st of this.syms.values()) if (st.market.quote === asset) return 1;
    for (const st of this.syms.values()) {
      if (st.market.base !== asset) continue;
      if (Number.isFinite(st.lastPrice)) return st.lastPrice;
      if (st.pos !== null) return st.pos.entryPrice;
    }
    return 0;
  }

  protected dirty(o: PaperOrder): void {
    if (this.store !== null) this.chOrders.add(o);
  }

  protected updateOf(o: PaperOrder, ts: number): OrderUpdate {
    const u: OrderUpdate = {
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      status: o.status,
      filledQty: o.filledQty,
      ts,
    };
    if (o.reason !== undefined && TERMINAL_STATUSES.has(o.status)) u.reason = o.reason;
    return u;
  }

  /** Write the step's changes in one transaction, then tell the listener. */
  protected flush(): void {
    if (this.store !== null) {
      const changed = this.chOrders.size + this.chBalances.size + this.chPositions.size + this.chFills.length > 0 || this.chSeq;
      if (changed) {
        const ch: PaperChanges = {
          balances: [...this.chBalances].map((a) => ({ ...this.balances.get(a)! })),
          orders: [...this.chOrders],
          fills: this.chFills,
          positions: [],
          closed: [],
          seq: this.chSeq ? { ...this.seq } : null,
          ts: this.clock.now(),
        };
        for (const s of this.chPositions) {
          const p = this.syms.get(s)?.pos ?? null;
          if (p !== null) ch.positions.push(p);
          else ch.closed.push(s);
        }
        this.chOrders.clear();
        this.chBalances.clear();
        this.chPositions.clear();
        this.chFills = [];
        this.chSeq = false;
        this.store.commit(ch);
      }
    }
    this.trimHistory();
    if (this.events.length === 0) return;
    const events = this.events;
    this.events = [];
    const l = this.listener;
    if (l === null) return;
    for (const e of events) {
      if ('tradeId' in e) l.onFill({ ...e });
      else l.onOrderUpdate(e);
    }
  }

  /**
   * Finished orders and old fills are history: keep the most recent HISTORY of each in memory (the
   * store keeps everything), so a long run's memory stays flat. Amortized O(1).
   */
  protected trimHistory(): void {
    const keep = this.store === null ? HISTORY : HISTORY_WITH_STORE;
    if (this.orders.size > 2 * keep) {
      let excess = this.orders.size - keep;
      for (const [id, o] of this.orders) {
        if (excess <= 0) break;
        if (isWorking(o)) continue;
        this.orders.delete(id);
        excess--;
      }
    }
    for (const st of this.syms.values()) if (st.fills.length > 2 * HISTORY) st.fills.splice(0, st.fills.length - HISTORY);
  }

  // ---- set-up -----------------------------------------------------------------------------------

  protected newSym(m: MarketInfo): SymState {
    return {
      symbol: m.symbol,
      market: m,
      eps: m.qtyStep > 0 ? m.qtyStep * 1e-6 : 1e-12,
      working: [],
      compact: false,
      lastTs: NO_TS,
      lastPrice: Number.NaN,
      pos: null,
      liq: Number.NaN,
      fills: [],
      frozen: false,
    };
  }

  /** The state of a symbol; one that is no longer configured gets default metadata (its orders stay visible). */
  protected sym(symbol: string): SymState {
    let st = this.syms.get(symbol);
    if (st === undefined) {
      st = this.newSym(defaultMarket(symbol, this.marketType));
      this.syms.set(symbol, st);
    }
    return st;
  }

  protected restore(s: PaperState): void {
    for (const b of s.balances) this.balances.set(b.asset, { asset: b.asset, free: b.free, locked: b.locked });
    this.seq.order = s.seq.order;
    this.seq.trade = s.seq.trade;
    for (const o of [...s.orders].sort((a, b) => a.seq - b.seq)) {
      this.orders.set(o.clientOrderId, o);
      if (isWorking(o)) this.sym(o.symbol).working.push(o);
    }
    for (const p of s.positions) {
      const st = this.sym(p.symbol);
      st.pos = p;
      st.liq = this.perp && p.liquidationPrice !== undefined ? p.liquidationPrice : Number.NaN;
    }
  }
}

export function snap(b: Balance): void {
  if (Math.abs(b.locked) < 1e-9) b.locked = 0;
}
