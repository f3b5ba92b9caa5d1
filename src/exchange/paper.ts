/*
 * The paper exchange: Skipper's built-in simulated venue (backtests and paper trading).
 *
 * It keeps its own books — balances, orders, positions, fills — apart from the bot's journal tables,
 * exactly like a real exchange, so the engine reconciles against it as it would against Binance.
 * The engine feeds it each closed, validated candle first (`processCandle`), then lets the strategy
 * decide on that candle's close: an order submitted on candle t fills during candle t+1 at the
 * earliest. Orders submitted while a candle is being matched (e.g. protective orders placed from a
 * fill callback) start working on the next candle.
 *
 * THE FILL MODEL
 *
 * submit(order) validates synchronously. Rejected, with a plain-words reason: unknown symbol,
 * duplicate client order id (the existing order is left untouched), missing/invalid qty, price or
 * stop price for the type, a quantity below minQty or off the qty step, an order value below
 * minNotional (reduce-only exempt), `quoteQty` on anything but a market buy, post-only on a
 * non-limit, IOC on a stop, reduce-only with no position to reduce, a spot sell above the free base
 * balance (spot is long-only), not enough quote for a buy (market orders estimated at the last
 * price × slippage), not enough margin on perps, leverage < 1 or above the market's maximum,
 * leverage on spot, and a post-only limit that would take liquidity against the last price.
 * Accepted orders answer {status: 'open', exchangeOrderId: 'P<seq>'}. Resting orders (limit and
 * stop) lock funds: spot buys lock quote (qty × limit price × (1 + the larger fee); a stop-market
 * buy qty × stop × slippage × (1 + taker)), spot sells lock base, perps lock the initial margin
 * (notional / leverage) of the part that would open or grow a position. Market orders lock nothing:
 * funds are checked again when they fill. Reduce-only orders lock nothing either: a stop-loss and a
 * take-profit on the same position work like an OCO pair (see below).
 *
 * processCandle(symbol, c) matches the symbol's working orders in this order:
 *  1. At the open: market orders (and stop-markets triggered on an earlier candle that still have
 *     quantity left) fill at c.open × (1 + bps/1e4) for buys, × (1 − bps/1e4) for sells, taker fee.
 *     A market buy with `quoteQty` buys qty = floorToStep(quoteQty / (fillPrice × (1 + takerFee)),
 *     qtyStep); below minQty it ends 'expired' ("insufficient funds for the minimum quantity")
 *     (the order was already accepted, and open → rejected is not a legal move; submit rejects
 *     the same case up front when a last price is known). IOC orders are matched here too, on their
 *     first candle only: a market IOC like a market order; a limit IOC fills at c.open as taker if the
 *     open is through its limit; whatever is not filled then 'expired'.
 *  2. Stops. A sell stop triggers when c.low ≤ stopPrice, a buy stop when c.high ≥ stopPrice. The
 *     trigger price is the stop, or c.open when the candle opened beyond it (gap).
 *     stop_market fills at the trigger price with slippage, taker.
 *     stop_limit becomes a limit at `price`. Same candle, conservatively: if the trigger price is
 *     within the limit (sell: trigger ≥ limit; buy: trigger ≤ limit) it fills at once as taker at
 *     the trigger price with slippage, never worse than the limit; if it triggered on a gap at the
 *     open and the rest of the candle trades through the limit (sell: c.high > limit; buy: c.low <
 *     limit), it fills at the limit as maker. Otherwise it rests as a limit from the next candle
 *     (we cannot tell whether the candle's extreme came after the trigger).
 *  3. Perps liquidation (isolated margin). If the candle's range crosses the position's liquidation
 *     price (liquidationPrice() from core/accounting with `mmr`), the position is closed at the
 *     liquidation price by a venue-generated order (clientOrderId 'liq-<seq>', tradeId
 *     'PT<seq>-liq', taker). The whole isolated margin is lost: the fill's fee is what the loss at the
 *     liquidation price leaves of the margin (the clearance fee a real venue's insurance fund keeps),
 *     so wallet += realizedPnl − fee = −margin, the same thing the bot computes from the fill.
 *     The position's reduce-only orders are cancelled.
 *  4. Limit orders (GTC, post-only, and stop-limits triggered on an earlier candle): a buy fills when
 *     c.low < price, a sell when c.high > price — the candle must trade THROUGH the limit, a touch
 *     does not fill. A GTC limit on its first candle whose open is already through the limit was
 *     marketable on arrival: it fills at c.open as taker. Otherwise (and always for post-only and
 *     for orders that have rested a candle, which a gap would have hit in the book) it fills at the
 *     limit price as maker.
 * After the data ends (a finished replay: freeze()), market orders fill at once at the last close,
 * taker, so a trader can still close positions; resting orders stay as they are.
 *
 * Stops before limits: when one candle touches both a stop-loss and a take-profit of the same
 * position, the stop wins (conservative). Each order fills at most once per candle.
 *
 * Reduce-only orders never increase or flip a position: a fill is capped at the position (the order
 * then counts as filled, reason "reduce-only: quantity capped at the position"), and whenever a
 * position is closed (or flipped, or liquidated) the symbol's reduce-only orders that no longer
 * reduce it are cancelled ("reduce-only: position closed").
 *
 * maxVolumeParticipation (off by default): an order fills at most floorToStep(fraction × c.volume)
 * per candle; the rest stays working ('partially_filled') for the next candles (a market order at
 * the next open; a quoteQty buy keeps the quantity sized on its first fill). IOC remainders expire.
 *
 * Fills: tradeId 'PT<seq>', fee = rate × qty × price in the quote currency. Spot: buy → quote −=
 * qty × price + fee, base += qty; sell → base −= qty, quote += qty × price − fee. Perps: one net
 * position per symbol (applyFill from core/accounting), wallet += realizedPnl − fee, isolated margin
 * qty × entry / leverage is held as `locked` in the quote balance (free + locked = wallet). A
 * position keeps the leverage of the order that opened it. Fill prices are not rounded to the price
 * step. A fill emits onFill first, then onOrderUpdate (filled / partially_filled, cumulative
 * filledQty). All timestamps come from the injected clock.
 *
 * Persistence: with a `store`, every change of one step (a submit, a cancel, or one candle's
 * matching) is written in ONE transaction before the listener hears of it; on construction the
 * exchange reloads its books from the store (startingBalances apply only to an empty store).
 */
import { applyFill, DEFAULT_MMR, liquidationPrice, unrealizedPnl } from '../core/accounting.ts';
import type { NetPosition } from '../core/accounting.ts';
import type { Clock } from '../core/clock.ts';
import { plain } from '../core/format.ts';
import { decimalsOf, roundTo, floorToStep, isFiniteNumber } from '../core/num.ts';
import { isPossiblePrice } from '../core/prices.ts';
import { TERMINAL_STATUSES } from '../core/types.ts';
import type {
  Balance,
  Candle,
  Fill,
  Liquidity,
  MarketInfo,
  MarketType,
  Order,
  OrderStatus,
  Side,
  VenueEnvironment,
} from '../core/types.ts';
import type { PaperChanges, PaperOrder, PaperPosition, PaperSeq, PaperState, PaperStore } from './paper-store.ts';
import type { ExchangeClient, ExchangeListener, OrderUpdate, SimulatedVenue, VenueOrder, VenuePosition } from './types.ts';
import { splitSymbol } from '../core/symbols.ts';

export type { PaperOrder, PaperPosition } from './paper-store.ts';
export { PaperStore } from './paper-store.ts';

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

/**
 * Defaults for a symbol without exchange metadata, matching the config defaults of the paper
 * exchange: qty step and min qty 0.00001, price step 0.01, min notional 5 (quote), max leverage
 * 125 on perps (1 on spot). 'BTC/USDT', 'BTC/USDT:USDT' and 'BTCUSDT' are understood.
 */
export function defaultMarket(symbol: string, type: MarketType): MarketInfo {
  const [base, quote] = splitSymbol(symbol);
  return {
    symbol,
    base,
    quote,
    type,
    qtyStep: 0.00001,
    priceStep: 0.01,
    minQty: 0.00001,
    minNotional: 5,
    maxLeverage: type === 'perp' ? 125 : 1,
  };
}

interface SymState {
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

interface Accepted {
  st: SymState;
  lock: number;
  lockAsset: string;
  leverage: number;
}

const NO_TS = Number.MIN_SAFE_INTEGER;
/** Finished orders and fills kept in memory per venue/symbol; older ones are read from the store. */
const HISTORY = 1000;
const isWorking = (o: PaperOrder): boolean => o.status === 'open' || o.status === 'partially_filled';
const fmt = plain;
const tolerance = (x: number): number => 1e-9 * Math.max(1, Math.abs(x));

export class PaperExchange implements ExchangeClient, SimulatedVenue {
  readonly name = 'paper';
  readonly environment: VenueEnvironment = 'paper';
  readonly marketType: MarketType;

  private readonly clock: Clock;
  private readonly perp: boolean;
  private readonly makerFee: number;
  private readonly takerFee: number;
  private readonly slipUp: number;
  private readonly slipDown: number;
  /** 0 = no volume cap. */
  private readonly maxPart: number;
  private readonly mmr: number;
  private readonly store: PaperStore | null;
  readonly journalBacked: boolean;
  private listener: ExchangeListener | null = null;

  private readonly syms = new Map<string, SymState>();
  /** Last symbol looked up by processCandle (saves the map lookup on single-symbol runs). */
  private hot: SymState | undefined;
  private readonly balances = new Map<string, Balance>();
  /** Every order the venue accepted (for duplicate ids and fetchOrder). */
  private readonly orders = new Map<string, PaperOrder>();
  private readonly seq: PaperSeq = { order: 0, trade: 0 };
  private depth = 0;
  private events: VenueEvent[] = [];

  // Changes waiting for the store (tracked only when there is one).
  private readonly chOrders = new Set<PaperOrder>();
  private readonly chBalances = new Set<string>();
  private readonly chPositions = new Set<string>();
  private chFills: Fill[] = [];
  private chSeq = false;

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

  // ---- ExchangeClient ---------------------------------------------------------------------------

  setListener(listener: ExchangeListener): void {
    this.listener = listener;
  }

  /** The books were loaded by the constructor; nothing to connect to. */
  async connect(): Promise<void> {
    this.listener?.onConnection?.(true, 'paper exchange ready');
  }

  async close(): Promise<void> {}

  market(symbol: string): MarketInfo {
    const st = this.syms.get(symbol);
    if (st === undefined) throw new Error(`paper exchange: unknown symbol ${symbol}`);
    return st.market;
  }

  submit(order: Order): void {
    const now = this.clock.now();
    const v = this.check(order);
    if (typeof v === 'string') {
      this.events.push({ clientOrderId: order.clientOrderId, status: 'rejected', reason: v, ts: now });
      this.flush();
      return;
    }
    const { st } = v;
    const seq = ++this.seq.order;
    this.chSeq = true;
    const o: PaperOrder = {
      seq,
      clientOrderId: order.clientOrderId,
      exchangeOrderId: `P${seq}`,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      tif: order.tif,
      qty: order.qty ?? 0,
      reduceOnly: order.reduceOnly,
      leverage: v.leverage,
      status: 'open',
      filledQty: 0,
      avgPrice: 0,
      fee: 0,
      locked: v.lock,
      lockAsset: v.lockAsset,
      triggerTs: 0,
      fresh: order.type === 'limit' && order.tif === 'GTC',
      afterTs: st.lastTs,
      createdAt: now,
      updatedAt: now,
    };
    if (order.quoteQty != null) o.quoteQty = order.quoteQty;
    if (order.price != null && (order.type === 'limit' || order.type === 'stop_limit')) o.price = order.price;
    if (order.stopPrice != null && (order.type === 'stop_market' || order.type === 'stop_limit')) o.stopPrice = order.stopPrice;
    if (v.lock > 0) {
      const b = this.bal(v.lockAsset);
      b.free -= v.lock;
      b.locked += v.lock;
    }
    this.orders.set(o.clientOrderId, o);
    st.working.push(o);
    this.dirty(o);
    this.events.push(this.updateOf(o, now));
    if (st.frozen && o.type === 'market' && Number.isFinite(st.lastPrice)) {
      // The market stopped at the last close: fill there (with slippage), as a taker, now.
      const p = st.lastPrice;
      const flat: Candle = { ts: st.lastTs, open: p, high: p, low: p, close: p, volume: Number.MAX_VALUE };
      this.execute(st, o, flat, o.side === 'buy' ? p * this.slipUp : p * this.slipDown, 'taker', false);
    }
    this.flush();
  }

  /**
   * No more candles will come for `symbol` (the replay ended): from now on market orders fill at once
   * at the last close, so /flatten and /close still work on a finished replay. Resting orders stay.
   */
  freeze(symbol: string, last?: { ts: number; close: number }): void {
    const st = this.syms.get(symbol);
    if (!st) return;
    st.frozen = true;
    // After a restart the venue saw no candle (they only warmed the strategy up): take the engine's last.
    if (!Number.isFinite(st.lastPrice) && last && Number.isFinite(last.close) && last.close > 0) {
      st.lastPrice = last.close;
      st.lastTs = Math.max(st.lastTs, last.ts);
    }
  }

  cancel(order: Order): void {
    const now = this.clock.now();
    const o = this.orders.get(order.clientOrderId);
    if (o === undefined) {
      this.events.push({ clientOrderId: order.clientOrderId, status: 'rejected', reason: 'unknown order', ts: now });
    } else if (!isWorking(o)) {
      this.events.push(this.updateOf(o, now)); // already final: report it, change nothing
    } else {
      this.finish(this.sym(o.symbol), o, 'cancelled', 'cancelled on request');
    }
    this.flush();
  }

  async fetchBalances(): Promise<Balance[]> {
    return [...this.balances.values()].map((b) => ({ ...b }));
  }

  async fetchOpenOrders(symbol?: string): Promise<VenueOrder[]> {
    const out: VenueOrder[] = [];
    for (const st of this.syms.values()) {
      if (symbol !== undefined && st.symbol !== symbol) continue;
      for (const o of st.working) if (isWorking(o)) out.push(toVenueOrder(o));
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  async fetchOrder(clientOrderId: string, symbol: string): Promise<VenueOrder | null> {
    const o = this.orders.get(clientOrderId) ?? this.store?.getOrder(clientOrderId) ?? undefined;
    return o !== undefined && o.symbol === symbol ? toVenueOrder(o) : null;
  }

  async fetchFills(symbol: string, sinceTs: number): Promise<Fill[]> {
    if (this.store !== null) return this.store.fillsSince(symbol, sinceTs);
    const fills = this.syms.get(symbol)?.fills ?? [];
    const out: Fill[] = [];
    for (const f of fills) if (f.ts >= sinceTs) out.push({ ...f });
    return out;
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    const out: VenuePosition[] = [];
    for (const st of this.syms.values()) {
      const p = st.pos;
      if (p === null) continue;
      const vp: VenuePosition = { symbol: p.symbol, side: p.side, qty: p.qty, entryPrice: p.entryPrice, leverage: p.leverage };
      if (p.liquidationPrice !== undefined) vp.liquidationPrice = p.liquidationPrice;
      if (Number.isFinite(st.lastPrice)) vp.unrealizedPnl = unrealizedPnl(p, st.lastPrice) + 0; // + 0: no -0
      out.push(vp);
    }
    return out;
  }

  // ---- conveniences (tests, status) -------------------------------------------------------------

  /** Close of the last candle processed for the symbol; NaN before the first. */
  lastPrice(symbol: string): number {
    return this.syms.get(symbol)?.lastPrice ?? Number.NaN;
  }

  balance(asset: string): Balance {
    const b = this.balances.get(asset);
    return b ? { ...b } : { asset, free: 0, locked: 0 };
  }

  /** Add (or with a negative amount, withdraw) funds, like a transfer into the account. */
  deposit(asset: string, amount: number): void {
    const b = this.bal(asset);
    b.free += amount;
    this.chBalances.add(asset);
    this.flush();
  }

  position(symbol: string): PaperPosition | null {
    const p = this.syms.get(symbol)?.pos;
    return p ? { ...p } : null;
  }

  /** Spot: all balances valued at the last prices. Perps: wallet + unrealized PnL at the last prices. */
  equity(): number {
    let e = 0;
    for (const b of this.balances.values()) {
      const amount = b.free + b.locked;
      if (amount !== 0) e += amount * this.assetPrice(b.asset);
    }
    if (this.perp) {
      for (const st of this.syms.values()) {
        if (st.pos !== null && Number.isFinite(st.lastPrice)) e += unrealizedPnl(st.pos, st.lastPrice);
      }
    }
    return e;
  }

  // ---- SimulatedVenue ---------------------------------------------------------------------------

  /** Hot path: with no working order (and no perp position to liquidate) this is a few comparisons. */
  processCandle(symbol: string, c: Candle): void {
    let st = this.hot;
    if (st === undefined || st.symbol !== symbol) {
      st = this.syms.get(symbol);
      if (st === undefined) return;
      this.hot = st;
    }
    if (c.ts <= st.lastTs) return; // seen already
    // The validator keeps such candles out; this venue never trades on one regardless.
    if (!(isPossiblePrice(c.low) && isPossiblePrice(c.high) && isPossiblePrice(c.open) && isPossiblePrice(c.close))) return;
    st.lastTs = c.ts;
    st.lastPrice = c.close;
    if (st.working.length === 0) {
      const p = st.pos;
      if (p === null || !this.perp) return;
      if (p.side === 'long' ? c.low > st.liq : c.high < st.liq) return;
    }
    this.match(st, c);
  }

  // ---- matching ---------------------------------------------------------------------------------

  private match(st: SymState, c: Candle): void {
    this.depth++;
    const w = st.working;
    const n = w.length; // orders arriving during matching wait for the next candle
    const { slipUp, slipDown } = this;

    // 1. At the open: market orders, triggered stop-markets with quantity left, IOC orders.
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.afterTs >= c.ts || !isWorking(o)) continue;
      if (o.type === 'market' || (o.type === 'stop_market' && o.triggerTs !== 0)) {
        this.execute(st, o, c, o.side === 'buy' ? c.open * slipUp : c.open * slipDown, 'taker', true);
      } else if (o.type === 'limit' && o.tif === 'IOC') {
        const p = o.price!;
        if (o.side === 'buy' ? c.open < p : c.open > p) this.execute(st, o, c, c.open, 'taker', true);
      } else continue;
      if (o.tif === 'IOC' && isWorking(o)) {
        this.finish(st, o, 'expired', o.filledQty > 0 ? 'IOC: the rest of the order expired' : 'IOC: could not fill at the open');
      }
    }

    // 2. Stops.
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.triggerTs !== 0 || (o.type !== 'stop_market' && o.type !== 'stop_limit') || o.afterTs >= c.ts || !isWorking(o)) continue;
      const s = o.stopPrice!;
      const sell = o.side === 'sell';
      if (sell ? c.low > s : c.high < s) continue;
      o.triggerTs = c.ts;
      this.dirty(o);
      const gap = sell ? c.open < s : c.open > s;
      const t = gap ? c.open : s;
      if (o.type === 'stop_market') {
        this.execute(st, o, c, sell ? t * slipDown : t * slipUp, 'taker', gap);
        continue;
      }
      const limit = o.price!;
      if (sell ? t >= limit : t <= limit) {
        this.execute(st, o, c, sell ? Math.max(limit, t * slipDown) : Math.min(limit, t * slipUp), 'taker', gap);
      } else if (gap && (sell ? c.high > limit : c.low < limit)) {
        this.execute(st, o, c, limit, 'maker', false);
      }
    }

    // 3. Liquidation.
    const p = st.pos;
    if (this.perp && p !== null && (p.side === 'long' ? c.low <= st.liq : c.high >= st.liq)) this.liquidate(st);

    // 4. Limits (and stop-limits triggered on an earlier candle).
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.afterTs >= c.ts || !isWorking(o)) continue;
      if (o.type === 'limit') {
        if (o.tif === 'IOC') continue;
      } else if (o.type !== 'stop_limit' || o.triggerTs === 0 || o.triggerTs === c.ts) continue;
      const limit = o.price!;
      const buy = o.side === 'buy';
      if (buy ? c.low >= limit : c.high <= limit) continue; // a touch does not fill
      if (o.fresh && (buy ? c.open < limit : c.open > limit)) this.execute(st, o, c, c.open, 'taker', true);
      else this.execute(st, o, c, limit, 'maker', false);
    }

    // 5. Limits that met their first candle are resting orders from now on.
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.fresh && o.afterTs < c.ts) {
        o.fresh = false;
        if (isWorking(o)) this.dirty(o);
      }
    }

    this.depth--;
    if (st.compact) {
      st.compact = false;
      let k = 0;
      for (let i = 0; i < w.length; i++) if (isWorking(w[i]!)) w[k++] = w[i]!;
      w.length = k;
    }
    this.flush();
  }

  /**
   * Fill what can be filled of `o` at `price` on candle `c`. A fill at the open is stamped with the
   * candle's open time; one inside the candle with the candle's close (when it is known to have happened).
   */
  private execute(st: SymState, o: PaperOrder, c: Candle, price: number, liquidity: Liquidity, atOpen: boolean): void {
    if (!isPossiblePrice(price)) return; // never a fill at an impossible price: the order keeps working
    const m = st.market;
    const rate = liquidity === 'maker' ? this.makerFee : this.takerFee;
    if (o.qty === 0) {
      // quoteQty market buy: sized on its first fill (the backtest contract's formula).
      // Literally floor(quote / (price × (1 + fee)) / step) × step: no epsilon, as the contract reads.
      const q = roundTo(Math.floor(o.quoteQty! / (price * (1 + rate)) / m.qtyStep) * m.qtyStep, decimalsOf(m.qtyStep));
      if (!(q > 0) || q < m.minQty - st.eps) {
        this.finish(st, o, 'expired', 'insufficient funds for the minimum quantity');
        return;
      }
      o.qty = q;
    }
    const rest = o.qty - o.filledQty;
    let q = rest;
    let cap = Infinity;
    if (o.reduceOnly) {
      cap = this.reducible(st, o.side);
      if (cap <= st.eps) {
        if (!this.reduces(st, o.side)) this.finish(st, o, 'cancelled', 'reduce-only: position closed');
        return; // (spot: the base it would sell is locked by another order for now)
      }
      if (q > cap) q = cap;
    }
    if (this.maxPart > 0) {
      const vcap = floorToStep(this.maxPart * c.volume, m.qtyStep);
      if (!(vcap > 0)) return; // nothing tradable for us on this candle
      if (q > vcap) q = vcap;
    }

    const notional = q * price;
    const fee = notional * rate;
    const release = o.locked > 0 ? o.locked * Math.min(1, q / rest) : 0;
    const quote = this.bal(m.quote);
    const ts = atOpen ? c.ts : this.clock.now();
    const pos = st.pos;

    if (this.perp) {
      const eff = applyFill(pos, o.side, q, price, fee, 'perp');
      const np = eff.position;
      const lev = pos !== null && np !== null && np.side === pos.side ? pos.leverage : o.leverage;
      const m0 = pos?.margin ?? 0;
      const m1 = np !== null ? (np.qty * np.entryPrice) / lev : 0;
      const dFree = release + eff.cashDelta + m0 - m1;
      if (eff.openedQty > 0 && quote.free + dFree < -tolerance(m1)) {
        this.finish(
          st,
          o,
          'expired',
          `insufficient margin at fill time: ${fmt(quote.free + release)} ${m.quote} free, ${fmt(m1 - m0 + fee)} needed`,
        );
        return;
      }
      quote.free += dFree;
      quote.locked += m1 - m0 - release;
      this.setPosition(st, np, lev, eff.realizedPnl, fee, ts);
    } else if (o.side === 'buy') {
      const dFree = release - notional - fee;
      if (quote.free + dFree < -tolerance(notional)) {
        this.finish(
          st,
          o,
          'expired',
          `insufficient ${m.quote} balance at fill time: ${fmt(quote.free + release)} free, ${fmt(notional + fee)} needed`,
        );
        return;
      }
      quote.free += dFree;
      quote.locked -= release;
      this.bal(m.base).free += q;
      const eff = applyFill(pos, 'buy', q, price, fee, 'spot');
      this.setPosition(st, eff.position, 1, 0, fee, ts);
    } else {
      const base = this.bal(m.base);
      if (base.free + release - q < -st.eps) {
        this.finish(st, o, 'expired', `insufficient ${m.base} balance at fill time: ${fmt(base.free + release)} free, ${fmt(q)} needed`);
        return;
      }
      base.free += release - q;
      base.locked -= release;
      snap(base);
      quote.free += notional - fee;
      if (pos !== null) {
        // Spot positions only track what was bought here; selling other holdings changes none.
        const closing = Math.min(q, pos.qty);
        const eff = applyFill(pos, 'sell', closing, price, 0, 'spot');
        this.setPosition(st, eff.position, 1, eff.realizedPnl, (fee * closing) / q, ts);
      }
    }
    o.locked -= release;
    snap(quote);

    const filled = o.filledQty + q;
    o.avgPrice = (o.avgPrice * o.filledQty + price * q) / filled;
    o.filledQty = filled;
    o.fee += fee;
    o.updatedAt = ts;
    const fill: Fill = {
      tradeId: `PT${++this.seq.trade}`,
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      symbol: st.symbol,
      side: o.side,
      price,
      qty: q,
      fee,
      feeCurrency: m.quote,
      liquidity,
      ts,
    };
    this.recordFill(st, fill);
    const capped = q >= cap - st.eps && o.qty - filled > st.eps;
    if (capped || o.qty - filled <= st.eps) {
      o.status = 'filled';
      if (capped) o.reason = 'reduce-only: quantity capped at the position';
      this.retire(st, o);
    } else o.status = 'partially_filled';
    this.dirty(o);
    this.events.push(this.updateOf(o, ts));
    this.dropStaleReduceOnly(st, 'reduce-only: position closed');
  }

  private liquidate(st: SymState): void {
    const p = st.pos!;
    const m = st.market;
    const ts = this.clock.now();
    const side: Side = p.side === 'long' ? 'sell' : 'buy';
    const price = st.liq;
    const eff = applyFill(p, side, p.qty, price, 0, 'perp');
    const fee = Math.max(0, p.margin + eff.realizedPnl); // what is left of the margin goes too
    const quote = this.bal(m.quote);
    quote.free += eff.realizedPnl - fee + p.margin;
    quote.locked -= p.margin;
    snap(quote);
    const seq = ++this.seq.order;
    const o: PaperOrder = {
      seq,
      clientOrderId: `liq-${seq}`,
      exchangeOrderId: `P${seq}`,
      symbol: st.symbol,
      side,
      type: 'market',
      tif: 'IOC',
      qty: p.qty,
      reduceOnly: true,
      leverage: p.leverage,
      status: 'filled',
      filledQty: p.qty,
      avgPrice: price,
      fee,
      locked: 0,
      lockAsset: m.quote,
      triggerTs: 0,
      fresh: false,
      afterTs: st.lastTs,
      createdAt: ts,
      updatedAt: ts,
      reason: `liquidation of the ${p.side} position at ${fmt(price)}`,
      liquidation: true,
    };
    this.orders.set(o.clientOrderId, o);
    this.dirty(o);
    const fill: Fill = {
      tradeId: `PT${++this.seq.trade}-liq`,
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      symbol: st.symbol,
      side,
      price,
      qty: p.qty,
      fee,
      feeCurrency: m.quote,
      liquidity: 'taker',
      ts,
    };
    this.setPosition(st, null, p.leverage, eff.realizedPnl, fee, ts);
    this.recordFill(st, fill);
    this.events.push(this.updateOf(o, ts));
    this.dropStaleReduceOnly(st, 'reduce-only: position liquidated');
  }

  // ---- validation -------------------------------------------------------------------------------

  /** A reason to reject, or what accepting the order reserves. */
  private check(r: Order): string | Accepted {
    const st = this.syms.get(r.symbol);
    if (st === undefined) return `unknown symbol ${r.symbol}`;
    if (this.orders.has(r.clientOrderId) || this.store?.getOrder(r.clientOrderId))
      return `duplicate client order id ${r.clientOrderId}: an order with this id already exists`;
    const m = st.market;
    const { side, type, tif } = r;
    if (side !== 'buy' && side !== 'sell') return `invalid side ${String(side)}`;
    if (type !== 'market' && type !== 'limit' && type !== 'stop_market' && type !== 'stop_limit')
      return `unknown order type ${String(type)}`;
    if (tif !== 'GTC' && tif !== 'IOC' && tif !== 'PO') return `unknown time in force ${String(tif)}`;
    if (tif === 'PO' && type !== 'limit') return 'post-only is only for limit orders';
    if (tif === 'IOC' && type !== 'market' && type !== 'limit') return 'IOC is only for market and limit orders';

    const byQuote = r.quoteQty != null;
    if (byQuote) {
      if (type !== 'market' || side !== 'buy') return 'a quote amount (quoteQty) is only allowed on market buys';
      if (r.qty != null) return 'give either a quantity or a quote amount, not both';
      if (!(isFiniteNumber(r.quoteQty) && r.quoteQty > 0)) return 'quote amount must be a positive number';
    } else {
      if (!(isFiniteNumber(r.qty) && r.qty > 0)) return 'quantity missing or not a positive number';
      if (r.qty < m.minQty - st.eps) return `quantity ${fmt(r.qty)} is below the minimum ${fmt(m.minQty)}`;
      if (m.qtyStep > 0 && Math.abs(r.qty / m.qtyStep - Math.round(r.qty / m.qtyStep)) > 1e-6)
        return `quantity ${fmt(r.qty)} is not a multiple of the step ${fmt(m.qtyStep)}`;
    }
    if ((type === 'limit' || type === 'stop_limit') && !(isFiniteNumber(r.price) && r.price > 0))
      return 'limit price missing or not a positive number';
    if ((type === 'stop_market' || type === 'stop_limit') && !(isFiniteNumber(r.stopPrice) && r.stopPrice > 0))
      return 'stop price missing or not a positive number';

    const pos = st.pos;
    let leverage = 1;
    if (this.perp) {
      if (r.leverage != null) {
        if (!(isFiniteNumber(r.leverage) && r.leverage >= 1)) return 'leverage must be at least 1';
        if (r.leverage > m.maxLeverage) return `leverage ${fmt(r.leverage)} is above the maximum ${fmt(m.maxLeverage)} for ${r.symbol}`;
        leverage = r.leverage;
      } else leverage = pos?.leverage ?? 1;
    } else if (r.leverage != null && r.leverage !== 1) return 'spot orders cannot use leverage';

    const last = st.lastPrice;
    if (tif === 'PO' && (side === 'buy' ? r.price! >= last : r.price! <= last)) return 'post-only order would take liquidity';

    if (r.reduceOnly) {
      if (pos === null || (pos.side === 'long') !== (side === 'sell')) return 'reduce-only order but there is no position to reduce';
      return { st, lock: 0, lockAsset: m.quote, leverage: pos.leverage };
    }

    // Price the order: the limit, the stop, or (market) the last price with slippage; NaN = unknown.
    const px = type === 'market' ? last * (side === 'buy' ? this.slipUp : this.slipDown) : type === 'stop_market' ? r.stopPrice! : r.price!;
    const qty = byQuote ? floorToStep(r.quoteQty! / (px * (1 + this.takerFee)), m.qtyStep) : r.qty!;
    if (byQuote && Number.isFinite(px) && (!(qty > 0) || qty < m.minQty - st.eps)) return 'insufficient funds for the minimum quantity';
    const value = byQuote ? r.quoteQty! : qty * (type === 'stop_market' ? r.stopPrice! : type === 'market' ? last : r.price!);
    if (value < m.minNotional) return `order value ${fmt(value)} ${m.quote} is below the minimum ${fmt(m.minNotional)}`;
    const resting = type !== 'market';

    if (!this.perp) {
      if (side === 'sell') {
        const free = this.freeOf(m.base);
        if (qty > free + st.eps) return `insufficient ${m.base} balance: ${fmt(free)} free, ${fmt(qty)} needed (spot cannot sell short)`;
        return { st, lock: resting ? qty : 0, lockAsset: m.base, leverage: 1 };
      }
      const free = this.freeOf(m.quote);
      const feeRate = type === 'limit' || type === 'stop_limit' ? Math.max(this.makerFee, this.takerFee) : this.takerFee;
      const need = byQuote ? r.quoteQty! : qty * (type === 'stop_market' ? r.stopPrice! * this.slipUp : px) * (1 + feeRate);
      if (need > free + tolerance(need)) return `insufficient ${m.quote} balance: ${fmt(free)} free, about ${fmt(need)} needed`;
      return { st, lock: resting ? need : 0, lockAsset: m.quote, leverage: 1 };
    }

    // Perps: initial margin for the part that opens or grows a position, plus the taker fee.
    const against = pos !== null && (pos.side === 'long') === (side === 'sell') ? pos.qty : 0;
    const lev = pos !== null && against === 0 ? pos.leverage : leverage;
    const margin = (Math.max(0, qty - against) * px) / lev;
    const need = margin + qty * px * this.takerFee;
    const free = this.freeOf(m.quote);
    if (need > free + tolerance(need)) return `insufficient margin: ${fmt(free)} ${m.quote} free, about ${fmt(need)} needed`;
    return { st, lock: resting ? margin : 0, lockAsset: m.quote, leverage };
  }

  // ---- books ------------------------------------------------------------------------------------

  /** Whether an order on `side` would reduce the symbol's position. */
  private reduces(st: SymState, side: Side): boolean {
    const p = st.pos;
    return p !== null && (p.side === 'long') === (side === 'sell');
  }

  /** What a reduce-only order on `side` may still trade: the opposite position (spot: held base). */
  private reducible(st: SymState, side: Side): number {
    const p = st.pos;
    if (p === null || !this.reduces(st, side)) return 0;
    return this.perp ? p.qty : Math.min(p.qty, this.freeOf(st.market.base));
  }

  private setPosition(st: SymState, np: NetPosition | null, leverage: number, realized: number, fee: number, ts: number): void {
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
  private dropStaleReduceOnly(st: SymState, reason: string): void {
    const w = st.working;
    for (let i = 0; i < w.length; i++) {
      const o = w[i]!;
      if (o.reduceOnly && isWorking(o) && !this.reduces(st, o.side)) this.finish(st, o, 'cancelled', reason);
    }
  }

  private recordFill(st: SymState, fill: Fill): void {
    st.fills.push(fill);
    if (this.store !== null) {
      this.chFills.push(fill);
      this.chSeq = true;
    }
    this.events.push(fill);
  }

  /** End a working order: unlock its funds, take it off the book, report it. */
  private finish(st: SymState, o: PaperOrder, status: OrderStatus, reason: string): void {
    const ts = this.clock.now();
    o.status = status;
    o.reason = reason;
    o.updatedAt = ts;
    this.retire(st, o);
    this.dirty(o);
    this.events.push(this.updateOf(o, ts));
  }

  private retire(st: SymState, o: PaperOrder): void {
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

  private bal(asset: string): Balance {
    let b = this.balances.get(asset);
    if (b === undefined) {
      b = { asset, free: 0, locked: 0 };
      this.balances.set(asset, b);
    }
    if (this.store !== null) this.chBalances.add(asset);
    return b;
  }

  private freeOf(asset: string): number {
    return this.balances.get(asset)?.free ?? 0;
  }

  private assetPrice(asset: string): number {
    for (const st of this.syms.values()) if (st.market.quote === asset) return 1;
    for (const st of this.syms.values()) {
      if (st.market.base !== asset) continue;
      if (Number.isFinite(st.lastPrice)) return st.lastPrice;
      if (st.pos !== null) return st.pos.entryPrice;
    }
    return 0;
  }

  private dirty(o: PaperOrder): void {
    if (this.store !== null) this.chOrders.add(o);
  }

  private updateOf(o: PaperOrder, ts: number): OrderUpdate {
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
  private flush(): void {
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
  private trimHistory(): void {
    if (this.orders.size > 2 * HISTORY) {
      let excess = this.orders.size - HISTORY;
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

  private newSym(m: MarketInfo): SymState {
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
  private sym(symbol: string): SymState {
    let st = this.syms.get(symbol);
    if (st === undefined) {
      st = this.newSym(defaultMarket(symbol, this.marketType));
      this.syms.set(symbol, st);
    }
    return st;
  }

  private restore(s: PaperState): void {
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
    for (const f of s.fills) this.sym(f.symbol).fills.push(f);
  }
}

function snap(b: Balance): void {
  if (Math.abs(b.locked) < 1e-9) b.locked = 0;
}

function toVenueOrder(o: PaperOrder): VenueOrder {
  const v: VenueOrder = {
    clientOrderId: o.clientOrderId,
    exchangeOrderId: o.exchangeOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    status: o.status,
    qty: o.qty,
    filledQty: o.filledQty,
    reduceOnly: o.reduceOnly,
    ts: o.createdAt,
  };
  if (o.price !== undefined) v.price = o.price;
  if (o.stopPrice !== undefined) v.stopPrice = o.stopPrice;
  return v;
}
