/*
 * The paper exchange: Skipper's built-in simulated venue (backtests and paper trading).
 *
 * It keeps its own books — balances, orders, positions, fills — apart from the bot's journal tables,
 * exactly like a real exchange, so the engine reconciles against it as it would against Binance.
 * The engine feeds it each closed, validated candle first (`processCandle`), then lets the strategy
 * decide on that candle's close: an order submitted on candle t fills during candle t+1 at the
 * earliest. Orders submitted while a candle is being matched (e.g. protective orders placed from a
 * fill callback) start working on the next candle. *
 * The fill model (what fills when, at what price): matching.ts. The books and their persistence:
 * books.ts; the checks at submit: checks.ts.
 */
import { unrealizedPnl } from '../../core/accounting.ts';
import type { Balance, Candle, Fill, MarketInfo, Order, VenueEnvironment } from '../../core/types.ts';
import type { ExchangeClient, ExchangeListener, SimulatedVenue, VenueOrder, VenuePosition } from '../types.ts';
import { isWorking } from './books.ts';
import { PaperMatching } from './matching.ts';
import type { PaperOrder, PaperPosition } from './store.ts';

export class PaperExchange extends PaperMatching implements ExchangeClient, SimulatedVenue {
  readonly name = 'paper';
  readonly environment: VenueEnvironment = 'paper';

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
    const o = this.orders.get(order.clientOrderId) ?? this.store?.getOrder(order.clientOrderId) ?? undefined;
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
