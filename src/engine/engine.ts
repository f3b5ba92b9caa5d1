// The engine: EngineCore (engine-core.ts) runs candles → signals → risk → orders; this adds what comes
// back from the venue (order updates, fills, funding), the controls chat commands call, reconciliation's
// adoptions and the read views.
import type { AlertInput } from '../core/alerts.ts';
import { tradeFigures } from '../core/alerts.ts';
import { utcDayStart, type ClockKind } from '../core/clock.ts';
import { canTransition, isTerminal } from '../core/order-state.ts';
import { floorToStep } from '../core/num.ts';
import { percent, price, price as fmtPrice, qty } from '../core/format.ts';
import type { Bracket, ExitReason, Fill, MarketInfo, Order, OrderPurpose, OrderRequest, Side, Signal } from '../core/types.ts';
import type { ExchangeListener, FundingPayment, OrderUpdate, VenueOrder } from '../exchange/types.ts';
import { STATE } from '../journal/state-keys.ts';
import type { RiskDecision } from '../risk/types.ts';
import { historyNeeded, type Strategy } from '../strategy/types.ts';
import { exitingQty, inFlight, reduces } from './in-flight.ts';
import { Portfolio, type BookPosition } from './portfolio.ts';
import { PROTECTIVE } from './protection.ts';
import { closeRequest, EngineCore } from './engine-core.ts';
import { fillAlerts } from './fill-alerts.ts';
import { noDataIssues, type DataIssues } from '../market/data-issues.ts';
import { forgetTradeSettings, newTradeSettings, tradeSettings, VENUE_CLOSE_ID } from './trades.ts';
import type { EngineOptions, EngineStatus } from './engine-types.ts';
import type { Proposal } from './ports.ts';

export type { ApprovalGate, EngineOptions, EngineStatus, Proposal, SymbolSetup } from './engine-types.ts';

/** External trades remembered as reported (a venue's recent-trades read reaches back hours, not months). */
const MAX_EXTERNAL_TRADES = 500;

export class Engine extends EngineCore implements ExchangeListener {
  constructor(opts: EngineOptions) {
    super(opts);
    opts.exchange.setListener(this);
  }

  // ---- venue events -------------------------------------------------------------------------

  /** A trader's order is still working (manual, close, flatten; not adopted ones). */
  traderOrdersWorking(): boolean {
    for (const o of this.liveOrders.values()) if ((o.purpose === 'manual' || o.purpose === 'flatten') && o.decisionId) return true;
    return false;
  }

  onConnection(up: boolean, detail: string): void {
    this.log.info({ up, detail }, 'venue connection');
    if (up) this.opts.onReconnect?.(detail);
  }

  onAlert(alert: AlertInput): void {
    this.raise(alert);
  }

  /** A funding payment (perps): journaled once, booked to the wallet. True when it was new. */
  onFunding(p: FundingPayment): boolean {
    const fresh = this.journal.recordFunding({
      venue: this.exchange.name,
      paymentId: p.paymentId,
      symbol: p.symbol,
      amount: p.amount,
      rate: p.rate ?? null,
      ts: p.ts,
    });
    if (!fresh) return false;
    this.portfolio.cash += p.amount;
    this.log.info({ funding: p }, 'funding payment');
    return true;
  }

  onOrderUpdate(u: OrderUpdate): void {
    const o = this.liveOrders.get(u.clientOrderId) ?? this.journal.getOrder(u.clientOrderId);
    if (!o) {
      this.log.warn({ update: u }, 'update for an order the journal does not know');
      return;
    }
    const from = o.status;
    if (from === u.status && u.exchangeOrderId === o.exchangeOrderId) return;
    if (from !== u.status && !canTransition(from, u.status)) {
      this.log.debug({ coid: o.clientOrderId, from, to: u.status }, 'stale order update ignored');
      return;
    }
    // A cancel the engine asked for says why (the venue only says it was asked); asked before a restart: the journal knows.
    const asked =
      u.status === 'cancelled' ? (this.cancelReasons.get(u.clientOrderId) ?? this.journal.cancelAsked(u.clientOrderId)) : undefined;
    if (isTerminal(u.status)) this.cancelReasons.delete(u.clientOrderId);
    const reason = asked ?? u.reason;
    o.status = u.status;
    if (u.exchangeOrderId) o.exchangeOrderId = u.exchangeOrderId;
    if (reason) o.reason = reason;
    if (u.triggerPassed) o.triggerPassed = true;
    o.updatedAt = u.ts;
    this.journal.updateOrder(o, from, reason);
    if (isTerminal(o.status)) {
      this.liveOrders.delete(o.clientOrderId);
      this.countWorking(o, -1);
      this.releaseHeld(o.symbol);
    }
    switch (o.status) {
      case 'rejected': {
        const ev = this.risk.onOrderError(o.reason ?? 'rejected', u.ts);
        // (A refused stop-loss / take-profit is a critical alert of its own: see protection.ts.)
        if (this.alertsOn && !PROTECTIVE.has(o.purpose)) {
          this.raise({
            type: 'order_rejected',
            severity: 'warning',
            title: `Order rejected: ${o.side} ${o.symbol}`,
            message: `${o.clientOrderId}: ${o.reason ?? 'no reason given'}`,
            data: { clientOrderId: o.clientOrderId },
          });
        }
        if (ev) this.onRiskEvent(ev);
        break;
      }
      case 'filled':
        this.risk.onOrderOk();
        break;
      default:
    }
    this.protection.afterOrder(o, from);
    // Inside a candle the strategies run after the venue's updates anyway.
    if (o.status === 'filled' && !this.inCandle) this.events?.orderFilled(o);
  }

  /** Was this external trade reported already? Marks it reported (kept in the journal: a restart re-reads it too). */
  private externalReported(f: Fill): boolean {
    const key = `${this.exchange.name}:${f.tradeId}`;
    const seen = (this.externalTrades ??= STATE.externalTrades.read(this.journal));
    if (seen.includes(key)) return true;
    seen.push(key);
    if (seen.length > MAX_EXTERNAL_TRADES) seen.splice(0, seen.length - MAX_EXTERNAL_TRADES);
    STATE.externalTrades.write(this.journal, seen, this.clock.now());
    return false;
  }

  private externalTrades: string[] | undefined;

  onFill(f: Fill): void {
    const o = this.liveOrders.get(f.clientOrderId) ?? this.journal.getOrder(f.clientOrderId);
    if (!o && !this.ownsOrderId(f.clientOrderId)) {
      // Already booked (under the order it belongs to): a second sighting by another id is no external trade.
      if (this.journal.hasFill(this.exchange.name, f.tradeId)) return;
      // A trade of an order this bot did not place (someone trading the same account): not ours to book.
      // Every read of the venue's recent trades shows it again: it is reported once.
      if (this.externalReported(f)) return;
      this.log.warn({ fill: f }, 'external fill ignored');
      this.raise({
        figures: tradeFigures(f.symbol, { qty: f.qty, price: f.price }),
        type: 'reconciliation',
        severity: 'warning',
        title: `External trade on ${f.symbol}`,
        message: `${f.side} ${qty(f.qty, this.marketInfo(f.symbol)?.qtyStep)} @ ${price(f.price, this.marketInfo(f.symbol)?.priceStep)} (order ${f.clientOrderId || '?'}) was not placed by this bot: not booked. Reconciliation will compare balances.`,
        key: `external-fill:${f.symbol}`,
      });
      return;
    }
    const effect = this.portfolio.preview(f);
    const lev = o?.leverage ?? this.opts.leverage;
    let fresh = false;
    let result: ReturnType<Portfolio['apply']> | undefined;
    let why: ExitReason | undefined;
    let exitAvg: number | undefined;
    this.journal.tx(() => {
      fresh = this.journal.recordFill(this.exchange.name, f, effect.realizedPnl, effect.cashDelta);
      if (!fresh) return;
      result = this.portfolio.apply(f, effect, lev, (p) =>
        this.journal.openPosition(p, o?.purpose === 'manual' ? 'manual' : this.strategyName(f.symbol)),
      );
      if (result.closed) {
        why = this.exitReason(o, f.clientOrderId, result.closed.id);
        exitAvg = this.journal.averageExitPrice(result.closed, f.ts) ?? f.price;
        this.journal.closePosition(result.closed.id, result.closed, exitAvg, f.ts, why);
        forgetTradeSettings(this.journal, result.closed.id);
      }
      if (result.after && !result.opened) this.journal.updatePosition(result.after.id, result.after, result.after.maxQty);
      if (result.after && result.opened) newTradeSettings(this.journal, result.after.id);
      this.tradeAdds.record(`${this.opts.botId}-`, o, f, result);
      if (o) {
        const filled = o.filledQty + f.qty;
        o.avgPrice = (o.avgPrice * o.filledQty + f.price * f.qty) / filled;
        o.filledQty = filled;
        o.fee += f.fee;
        o.updatedAt = f.ts;
        this.journal.updateOrder(o, o.status);
      }
    });
    if (!fresh || !result) return;
    const r = result;
    if (this.opts.metrics) {
      this.opts.metrics.onFee(f.fee);
      if (r.closed) this.opts.metrics.onTradeClosed(r.closed.realizedPnl - r.closed.fees, why);
    }
    if (r.closed) {
      const ev = this.risk.onTradeClosed(r.closed.realizedPnl - r.closed.fees, f.ts, f.symbol);
      if (ev) this.onRiskEvent(ev);
      this.clearClosed(f.symbol, f.clientOrderId);
    }
    // A loss booked between candles (a stop that filled at the venue, a reconciliation's catch-up) counts
    // against the drawdown limits now: an entry before the next candle must not pass them.
    if (!this.inCandle) this.checkEquity(this.clock.now());
    // A fill heard after its order ended (reconciliation) still changes what must be protected.
    if (o && isTerminal(o.status) && r.after) this.protection.afterOrder(o, o.status);
    const s = this.symbols.get(f.symbol);
    if (s) this.portfolio.mark(f.symbol, Number.isFinite(s.lastClose) ? s.lastClose : f.price);
    if (this.alertsOn) for (const a of fillAlerts(f, o, r, this.marketInfo(f.symbol), why, exitAvg)) this.raise(a);
    if (o?.purpose === 'stop_loss' && r.after && !r.closed) this.protection.afterStopFill(o, r.after);
  }

  /** Why a trade closed, from the order whose fill closed it (none: the venue's own close). */
  private exitReason(o: Order | undefined, clientOrderId: string, posId: number): ExitReason {
    if (!o) return VENUE_CLOSE_ID.test(clientOrderId) ? 'liquidation' : 'external';
    switch (o.purpose) {
      case 'stop_loss':
        return o.trailPct !== undefined || tradeSettings(this.journal, posId).trailed ? 'trailing_stop' : 'stop_loss';
      case 'stop_exit':
        return 'stop_loss';
      case 'tp_exit':
        return 'take_profit';
      case 'take_profit':
      case 'max_hold':
      case 'manual':
      case 'flatten':
      case 'grid':
        return o.purpose;
      default:
        return 'signal'; // a strategy's exit (or the entry of a flip)
    }
  }

  // ---- controls (chat commands call these) --------------------------------------------------

  /** No new entries (exits, stops and exit algos keep working); entry algos stop. */
  pause(by: string): void {
    this.risk.pause(by, this.clock.now());
    this.events?.stopAlgos(`paused by ${by}`, { cancelChildren: true, entriesOnly: true });
  }

  resume(by: string, opts: { clearHalt?: boolean; clearBreaker?: boolean } = {}): void {
    this.risk.resume(by, this.clock.now(), opts);
  }

  /** No new entries on one symbol; its entry algos stop. False if it already was paused. */
  pauseSymbol(symbol: string, by: string): boolean {
    if (!this.risk.pauseSymbol(symbol, by, this.clock.now())) return false;
    this.events?.stopAlgos(`${symbol} paused by ${by}`, { cancelChildren: true, entriesOnly: true, symbol });
    return true;
  }

  /** Entries on one symbol allowed again (whatever else still blocks them). False if it was not paused. */
  resumeSymbol(symbol: string): boolean {
    return this.risk.resumeSymbol(symbol);
  }

  /** Cancel every working order and close every position at market. */
  flatten(by: string): { cancelled: number; closing: string[] } {
    this.events?.stopAlgos(`flatten by ${by}`, { cancelChildren: false, entriesOnly: false }); // flatten cancels every working order itself
    this.events?.flattened(by); // before the cancels below: a grid that stops now places nothing more
    let cancelled = 0;
    for (const o of this.held.releaseAll()) {
      this.onOrderUpdate({
        clientOrderId: o.clientOrderId,
        status: 'cancelled',
        ts: this.clock.now(),
        reason: `superseded by flatten (${by})`,
      });
    }
    const resting = new Set<string>(); // exits being cancelled that are not in flight: the close covers their part
    for (const o of [...this.liveOrders.values()]) {
      if (o.status === 'new') continue;
      this.cancelAtVenue(o, `flatten by ${by}`);
      cancelled++;
      if (!inFlight(o)) resting.add(o.clientOrderId);
    }
    const closing: string[] = [];
    for (const pos of [...this.portfolio.positions.values()]) {
      this.closePosition(pos.symbol, by, 'flatten', resting);
      closing.push(pos.symbol);
    }
    this.log.warn({ by, cancelled, closing }, 'flatten');
    return { cancelled, closing };
  }

  /**
   * The position's stop-loss is through (it fired, or the venue refused it as already passed): close
   * all of it at market (purpose stop_exit: an exit, not a protective order; the trade's exit reason
   * is stop-loss). Resting exits that hold part of it (a trader's limit sell on spot holds its coins,
   * so the stop covered only the rest) are cancelled first: the stop wins.
   */
  closeAtStop(symbol: string, why: string): Order | null {
    return this.closeAll(symbol, why, 'stop_exit').order;
  }

  /** Close all of a position at market now, the resting exits that hold part of it cancelled first (/close). */
  closeAll(symbol: string, by: string, purpose: OrderPurpose = 'manual'): { order: Order | null; replaced: Order[] } {
    const pos = this.portfolio.positions.get(symbol);
    if (!pos) return { order: null, replaced: [] };
    const resting = this.restingExits(symbol, pos.side === 'long' ? 'sell' : 'buy');
    const order = this.closePosition(symbol, by, purpose, new Set(resting.map((o) => o.clientOrderId)), undefined, true);
    return { order, replaced: order !== null ? resting : [] };
  }

  /**
   * Close one position at market (reduce-only); `qty`: only that much of it (a partial close).
   * `ignoring`: exits being cancelled (the close is sized as if they were gone); with `replace` the
   * close cancels them itself and waits for them (flatten and the grid cancel their own).
   */
  closePosition(
    symbol: string,
    by: string,
    purpose: OrderPurpose = 'manual',
    ignoring?: ReadonlySet<string>,
    qty?: number,
    replace = false,
  ): Order | null {
    const pos = this.portfolio.positions.get(symbol);
    const s = this.symbols.get(symbol);
    if (!pos || !s) return null;
    const price = Number.isFinite(s.lastClose) ? s.lastClose : pos.markPrice;
    const signal: Signal = {
      symbol,
      action: pos.side === 'long' ? 'exit_long' : 'exit_short',
      ts: this.clock.now(),
      price,
      strategy: 'manual',
      reason: `${purpose} by ${by}`,
    };
    const request = closeRequest(pos);
    if (qty !== undefined && qty < pos.qty) request.qty = qty;
    const decision = this.exitVerdict(s, signal, pos, request, ignoring);
    const decisionId = this.journal.recordDecision(signal, decision, request.qty);
    if (!decision.request) return null;
    const order = this.submit(decision.request, purpose, decisionId, {}, undefined, replace ? ignoring : undefined);
    this.opts.onTraderOrder?.();
    return order;
  }

  /** Move a position's stop / take-profit (chat, trailing): the new orders are journaled before the old go (protection.ts). */
  setProtection(symbol: string, promise: Bracket): void {
    this.protection.ensure(symbol, promise);
  }

  /** Is the position's take-profit watched by the bot rather than an order at the venue (spot with a stop-loss)? */
  takeProfitByBot(symbol: string): boolean {
    const pos = this.portfolio.positions.get(symbol);
    return pos !== undefined && this.protection.takeProfitByBot(pos);
  }

  /** A manual order from chat: through the risk engine like any other. `dryRun`: the verdict only (nothing journaled or placed). */
  manualOrder(
    req: { symbol: string; side: Side; qty?: number; quoteQty?: number; price?: number },
    by: string,
    opts: {
      dryRun?: boolean;
      clientOrderId?: string;
      continuation?: boolean;
      /** A TWAP/iceberg child: its parent (whose slices still to send are this one's, not other pending capital). */
      parent?: string;
      /** 'grid': a grid level; 'entry': a slice of a split strategy entry (`strategy` names it). */
      purpose?: 'grid' | 'entry';
      strategy?: string;
      stopLoss?: number;
      /** A slice of a split strategy entry: the entry's own stop-loss / take-profit (not defaults at the slice's price). */
      bracket?: Bracket;
    } = {},
  ): { decision: RiskDecision; order?: Order } {
    const s = this.symbols.get(req.symbol);
    if (!s) return { decision: { action: 'reject', rule: 'unknown_symbol', reason: `not trading ${req.symbol}` } };
    const price = req.price ?? s.lastClose;
    // No candle yet since start (a TWAP slice due after a restart, before its symbol's first candle):
    // nothing to price the order or its decision with (the journal's decision needs a price).
    if (!(price > 0 && Number.isFinite(price)))
      return { decision: { action: 'reject', rule: 'bad_input', reason: `no price for ${req.symbol} yet: no candle since start` } };
    const pos = this.portfolio.positions.get(req.symbol);
    const reducing = reduces(pos, req.side);
    const signal: Signal = {
      symbol: req.symbol,
      action: reducing ? (pos.side === 'long' ? 'exit_long' : 'exit_short') : req.side === 'buy' ? 'enter_long' : 'enter_short',
      ts: this.clock.now(),
      price,
      strategy: opts.strategy ?? opts.purpose ?? 'manual',
      reason: `${opts.purpose ?? 'manual'} ${req.side} by ${by}`,
    };
    if (!reducing && req.side === 'sell' && this.opts.marketType === 'spot') {
      const decision: RiskDecision = { action: 'reject', rule: 'spot_long_only', reason: 'spot is long-only: nothing to sell' };
      if (!opts.dryRun) this.journal.recordDecision(signal, decision, req.qty);
      return { decision };
    }
    const request: OrderRequest = {
      symbol: req.symbol,
      side: req.side,
      type: req.price !== undefined ? 'limit' : 'market',
      tif: 'GTC',
      reduceOnly: reducing,
    };
    if (req.qty !== undefined) request.qty = req.qty;
    if (req.quoteQty !== undefined) request.qty = floorToStep(req.quoteQty / price, s.market.qtyStep);
    if (req.price !== undefined) request.price = req.price;
    if (this.opts.marketType === 'perp' && !reducing) request.leverage = this.opts.leverage;
    // A grid order carries no bracket: the grid's stop-out is its stop (and sizes the loss bound).
    let bracket = reducing || opts.purpose === 'grid' ? {} : opts.bracket ? { ...opts.bracket } : this.bracketFor(signal, req.side);
    const stop = opts.stopLoss ?? bracket.stopLoss;
    const sig = stop !== undefined ? { ...signal, stopLoss: stop } : signal;
    const decision = reducing
      ? this.exitVerdict(s, sig, pos, request)
      : this.risk.evaluate(
          { signal: sig, request, reducing, continuation: opts.continuation },
          this.riskContext(s, price, undefined, opts.parent),
        );
    if (opts.dryRun) return { decision };
    const decisionId = this.journal.recordDecision(sig, decision, request.qty);
    if (decision.action === 'reject' || !decision.request) return { decision };
    // An add: the whole position's stop. Not for the grid: a resting stop would hold the coins its level
    // sells need (spot) and count as an exit covering the position; the grid's stop-out is its stop.
    if (decision.stopLoss !== undefined && opts.purpose !== 'grid') bracket = { ...bracket, stopLoss: decision.stopLoss };
    const order = this.submit(decision.request, opts.purpose ?? 'manual', decisionId, bracket, opts.clientOrderId);
    if (!reducing && !opts.continuation) this.risk.recordEntry(this.clock.now());
    if (opts.purpose === undefined) this.opts.onTraderOrder?.();
    return { decision, order };
  }

  // ---- proposals (approval gate) ------------------------------------------------------------

  /** A proposal restored after a restart blocks further entries on its symbol, like a working order. */
  holdForProposal(symbol: string): void {
    const s = this.symbols.get(symbol);
    if (s) s.working++;
  }

  /**
   * A proposal was decided. On approval the intent is re-checked (risk and price drift) before it
   * is sent. Returns what happened, in words.
   */
  resolveProposal(
    p: Proposal,
    outcome: 'approved' | 'rejected' | 'expired' | 'withdrawn',
    maxDrift: number,
  ): { placed: boolean; message: string; clientOrderId?: string } {
    const s = this.symbols.get(p.signal.symbol);
    if (s) s.working = Math.max(0, s.working - 1);
    this.journal.updateDecision(p.decisionId, { approval: outcome });
    if (outcome !== 'approved' || !s) return { placed: false, message: `${outcome}: nothing placed` };
    const price = s.lastClose;
    if (Number.isFinite(price) && p.signal.price > 0) {
      const drift = Math.abs(price / p.signal.price - 1);
      if (drift > maxDrift) {
        return {
          placed: false,
          message: `not placed: price moved ${percent(drift)} since the proposal (${fmtPrice(p.signal.price, s.market.priceStep)} → ${fmtPrice(price, s.market.priceStep)}; limit ${percent(maxDrift)})`,
        };
      }
    }
    const reducing = p.purpose !== 'entry';
    const pos = this.portfolio.positions.get(s.symbol);
    if (reducing && !pos) return { placed: false, message: 'not placed: the position is already closed' };
    // The card proposed a new position; one opened meanwhile (a manual buy): with pyramiding off it is not added to.
    if (!reducing && this.addsOff(pos, p.request.side === 'buy' ? 'long' : 'short'))
      return { placed: false, message: `not placed: a ${pos!.side} ${s.symbol} position opened since the proposal, and pyramiding is off` };
    const request: OrderRequest = { ...p.request };
    if (reducing && pos) {
      const left = Math.max(0, pos.qty - exitingQty(this.liveOrders.values(), s.symbol, pos.side));
      const part = p.signal.fraction !== undefined && p.signal.fraction < 1 ? p.request.qty : undefined;
      request.qty = part !== undefined ? Math.min(part, left) : left; // a scale-out stays partial
    }
    if (reducing && !(request.qty! > 0)) return { placed: false, message: 'not placed: exits already working cover the position' };
    if (!reducing) {
      delete request.qty;
      delete request.quoteQty;
    }
    const again = this.risk.evaluate(
      { signal: p.signal, request, reducing },
      this.riskContext(s, Number.isFinite(price) ? price : p.signal.price, reducing ? request.qty : undefined),
    );
    if (again.action === 'reject' || !again.request)
      return { placed: false, message: `not placed: risk re-check refused it (${again.reason})` };
    const bracket = again.stopLoss !== undefined ? { ...p.bracket, stopLoss: again.stopLoss } : p.bracket;
    if (p.purpose === 'entry') {
      const notional = (again.request.qty ?? 0) * p.signal.price + (again.request.quoteQty ?? 0);
      const parent = this.splitEntry(p.signal, again.request, notional, p.decisionId, bracket);
      if (parent !== undefined) {
        this.risk.recordEntry(this.clock.now());
        return { placed: true, message: `started ${parent}: the entry is split into slices (see /orders)`, clientOrderId: parent };
      }
    }
    const o = this.submit(again.request, p.purpose, p.decisionId, bracket);
    if (p.purpose === 'entry') this.risk.recordEntry(this.clock.now());
    // The card showed the proposal's size; say so when the order is another (the trade shrank meanwhile, a new sizing).
    const step = s.market.qtyStep;
    const proposed = p.request.qty;
    const sent = o.qty;
    const resized =
      proposed !== undefined && sent !== undefined && Math.abs(sent - proposed) > step / 2
        ? ` for ${qty(sent, step)} (proposed ${qty(proposed, step)}${reducing ? ': what is left of the trade to close' : ''})`
        : '';
    return {
      placed: true,
      message: `placed ${o.clientOrderId}${resized}${again.action === 'resize' ? ` (${again.reason})` : ''}`,
      clientOrderId: o.clientOrderId,
    };
  }

  // ---- reconciliation -----------------------------------------------------------------------

  /** Our client order ids carry the bot's prefix; venue-generated closes of our positions count as ours. */
  ownsOrderId(clientOrderId: string): boolean {
    return clientOrderId.startsWith(`${this.opts.botId}-`) || VENUE_CLOSE_ID.test(clientOrderId);
  }

  /** Take a venue order the bot did not place into the journal, as a manual order. */
  adoptOrder(v: VenueOrder): void {
    const now = this.clock.now();
    const o: Order = {
      symbol: v.symbol,
      side: v.side,
      type: v.type,
      tif: 'GTC',
      reduceOnly: v.reduceOnly,
      qty: v.qty,
      clientOrderId: v.clientOrderId,
      exchangeOrderId: v.exchangeOrderId,
      status: v.status,
      filledQty: v.filledQty,
      avgPrice: 0,
      fee: 0,
      createdAt: v.ts,
      updatedAt: now,
      purpose: 'manual',
      reason: 'adopted by reconciliation',
    };
    if (v.price !== undefined) o.price = v.price;
    if (v.stopPrice !== undefined) o.stopPrice = v.stopPrice;
    this.journal.tx(() => {
      this.journal.insertOrder(o, this.exchange.name);
      // The insert keeps the intent only: the venue's id, fill state and why it is here go in too.
      this.journal.updateOrder(o, o.status, 'adopted by reconciliation');
    });
    if (!isTerminal(o.status)) {
      this.liveOrders.set(o.clientOrderId, o);
      this.countWorking(o, +1); // as a restart would count it (its terminal update counts it out)
    }
  }

  /** Make the book position equal the venue's (after a human checked, or with adoptExternal). */
  adoptPosition(symbol: string, vp: { side: 'long' | 'short'; qty: number; entryPrice: number; leverage: number } | null): void {
    const now = this.clock.now();
    const cur = this.portfolio.positions.get(symbol);
    this.journal.tx(() => {
      if (cur) {
        this.journal.closePosition(cur.id, cur, cur.markPrice, now, 'reconciliation');
        forgetTradeSettings(this.journal, cur.id);
        this.portfolio.positions.delete(symbol);
      }
      if (vp && vp.qty > 0) {
        const p: BookPosition = {
          id: 0,
          symbol,
          side: vp.side,
          qty: vp.qty,
          maxQty: vp.qty,
          entryPrice: vp.entryPrice,
          leverage: vp.leverage,
          margin: this.opts.marketType === 'perp' ? (vp.qty * vp.entryPrice) / vp.leverage : vp.qty * vp.entryPrice,
          realizedPnl: 0,
          fees: 0,
          openedAt: now,
          markPrice: vp.entryPrice,
          unrealizedPnl: 0,
        };
        // A resized position keeps the stop it was promised.
        if (cur && cur.side === vp.side) {
          if (cur.stopLoss !== undefined) p.stopLoss = cur.stopLoss;
          if (cur.takeProfit !== undefined) p.takeProfit = cur.takeProfit;
        }
        p.id = this.journal.openPosition(p, 'adopted');
        this.portfolio.positions.set(symbol, p);
      }
    });
    // The position now matches the venue's: protect it, or drop the orders that protected what is gone.
    if (this.portfolio.positions.has(symbol)) this.protection.ensure(symbol);
    else this.clearClosed(symbol, '');
  }

  /** A cash difference adopted from the venue (deposit, withdrawal): kept across restarts. */
  adjustCash(amount: number, why: string): void {
    const total = STATE.cashAdjustments.read(this.journal) + amount;
    STATE.cashAdjustments.write(this.journal, total, this.clock.now());
    this.portfolio.cash += amount;
    this.log.warn({ amount, why }, 'cash adjusted');
  }

  marketInfo(symbol: string): MarketInfo | undefined {
    return this.symbols.get(symbol)?.market;
  }

  /** Precision and limits known once a live venue is connected. */
  setMarket(symbol: string, market: MarketInfo): void {
    const s = this.symbols.get(symbol);
    if (s) s.market = market;
  }

  // ---- views --------------------------------------------------------------------------------

  /** Which time the engine keeps (replies label times that are not wall-clock time). */
  get clockKind(): ClockKind {
    return this.clock.kind ?? 'wall';
  }

  get startingCash(): number {
    return this.opts.startingCash;
  }

  /** A live account's starting cash, learnt from the venue at the first connect (before any fill). */
  setStartingCash(cash: number): void {
    this.portfolio.cash += cash - this.opts.startingCash;
    this.opts.startingCash = cash;
  }

  symbolList(): string[] {
    return [...this.symbols.keys()];
  }

  /** Candles acted on and candles refused by the validator, since start. */
  candleCounts(symbol: string): { accepted: number; rejected: number } {
    const s = this.symbols.get(symbol);
    return { accepted: s?.accepted ?? 0, rejected: s?.rejected ?? 0 };
  }

  /** What the validator found in the symbol's candles since start: gaps, rejected candles by kind… */
  dataIssues(symbol: string): DataIssues {
    return this.symbols.get(symbol)?.issues ?? noDataIssues();
  }

  /** Max holding time between candles (the bot's timer), on the engine clock as the candle path checks it. */
  checkHoldTimes(): void {
    if (this.portfolio.positions.size === 0) return;
    const now = this.clock.now();
    for (const symbol of [...this.portfolio.positions.keys()]) this.positionRules.checkAge(symbol, now);
  }

  /** Candles `symbol` needs before its first decision (a live start fetches at least these). */
  historyNeeded(symbol: string): number {
    return historyNeeded(this.symbols.get(symbol)?.strategy, this.risk.limits.volatilityWindow);
  }

  lastPrice(symbol: string): number {
    return this.symbols.get(symbol)?.lastClose ?? NaN;
  }

  /** Config reload: the symbol's strategy from its next candle on (JS runs it between two candles). */
  replaceStrategy(symbol: string, strategy: Strategy): boolean {
    const s = this.symbols.get(symbol);
    if (s) s.strategy = strategy;
    return !!s;
  }

  /** The last candle processed before a restart (-Infinity on a fresh start). */
  resumeTs(symbol: string): number {
    return this.symbols.get(symbol)?.resumeTs ?? -Infinity;
  }

  status(): EngineStatus {
    const now = this.clock.now();
    const equity = this.portfolio.equity();
    const rs = this.risk.state();
    const dayStartEquity = rs.dayStart === utcDayStart(now) && rs.dayStartEquity > 0 ? rs.dayStartEquity : equity;
    const lastCandle: EngineStatus['lastCandle'] = {};
    for (const s of this.symbols.values()) lastCandle[s.symbol] = { ts: s.lastCandleTs, close: s.lastClose };
    return {
      mode: this.mode,
      venue: this.exchange.name,
      environment: this.exchange.environment,
      marketType: this.opts.marketType,
      equity,
      cash: this.portfolio.cash,
      freeCash: this.portfolio.freeCash(),
      unrealizedPnl: this.portfolio.unrealized(),
      todayPnl: equity - dayStartEquity,
      dayStartEquity,
      positions: [...this.portfolio.positions.values()].map((p) => ({ ...p })),
      liveOrders: [...this.liveOrders.values()].map((o) => ({ ...o })),
      blocked: this.risk.blockedReason(now),
      pausedSymbols: rs.pausedSymbols,
      paused: rs.paused,
      halted: this.risk.haltActive(now),
      breaker: rs.breakerTripped,
      lastCandle,
      now,
      unprotected: this.protection.gaps(this.symbols.keys()),
    };
  }
}
