import type { Logger } from '../core/logger.ts';
import type { AlertInput, AlertSink } from '../core/alerts.ts';
import { NULL_ALERTS, tradeFigures } from '../core/alerts.ts';
import { utcDayStart, type Clock, type ClockKind } from '../core/clock.ts';
import { canTransition, isTerminal } from '../core/order-state.ts';
import { floorToStep } from '../core/num.ts';
import { assetAmount, percent, price, price as fmtPrice, qty, signedMoney } from '../core/format.ts';
import { splitSymbol } from '../core/symbols.ts';
import type { Candle, Fill, MarketInfo, MarketType, Order, OrderPurpose, OrderRequest, Side, Signal, TradingMode } from '../core/types.ts';
import type { ExchangeClient, ExchangeListener, FundingPayment, OrderUpdate, SimulatedVenue, VenueOrder } from '../exchange/types.ts';
import { isSimulatedVenue } from '../exchange/types.ts';
import type { Journal } from '../journal/journal.ts';
import { STATE, type NumberKey } from '../journal/state-keys.ts';
import type { CandleValidator, CheckResult } from '../market/validator.ts';
import type { RiskEngine } from '../risk/engine.ts';
import type { RiskContext, RiskDecision, RiskEvent, RiskIntent } from '../risk/types.ts';
import type { Strategy, StrategyContext } from '../strategy/types.ts';
import type { MetricsTracker } from './metrics.ts';
import { exitingQty, inFlight, orderInFlight } from './in-flight.ts';
import { Portfolio, type BookPosition } from './portfolio.ts';
import { PROTECTIVE, ProtectionKeeper, type ProtectionGap } from './protection.ts';
import { PositionRules } from './position-rules.ts';
import { tradeId } from './trades.ts';
import { DrawdownGuard } from './drawdown-guard.ts';

export interface SymbolSetup {
  symbol: string;
  timeframeMs: number;
  strategy: Strategy;
  market: MarketInfo;
  validator: CandleValidator;
}

/** Where orders go when the trader wants to approve them first (chat-ops plugs in here). */
export interface ApprovalGate {
  /** Does this intent need a human decision? */
  required(intent: { signal: Signal; decision: RiskDecision; notional: number }): boolean;
  /** Ask for one. The gate calls `engine.resolveProposal` when it is decided or expires. */
  propose(p: Proposal): void;
}

export interface Proposal {
  decisionId: number;
  signal: Signal;
  request: OrderRequest;
  decision: RiskDecision;
  purpose: OrderPurpose;
  notional: number;
  bracket: { stopLoss?: number; takeProfit?: number };
}

export interface EngineOptions {
  mode: TradingMode;
  botId: string;
  clock: Clock;
  journal: Journal;
  exchange: ExchangeClient;
  risk: RiskEngine;
  alerts?: AlertSink;
  logger: Logger;
  symbols: SymbolSetup[];
  marketType: MarketType;
  allowShort: boolean;
  leverage: number;
  takerFee: number;
  /** Cash the account started with (paper) — the journal's fill cash flows are added to it. */
  startingCash: number;
  /** Equity snapshot period (simulated or wall time); a snapshot is also taken at each UTC day change. */
  equityEveryMs: number;
  /** Persist the last processed candle per symbol, so a restart resumes instead of trading old candles again. */
  persistProgress: boolean;
  metrics?: MetricsTracker;
  approvals?: ApprovalGate;
  /** Called when the venue connection comes back (the bot reconciles then). */
  onReconnect?: (detail: string) => void;
  /** Called when a trader's order (manual, close, flatten) goes out: a held replay must not block it. */
  onTraderOrder?: () => void;
}

interface SymbolState extends SymbolSetup {
  ctx: { symbol: string; position: StrategyContext['position']; pending: boolean; allowShort: boolean };
  /** Candles at or before this ts were processed before a restart: they only warm the strategy up. */
  resumeTs: number;
  lastClose: number;
  lastCandleTs: number;
  /** Live entry/exit orders (not protective ones). */
  working: number;
  accepted: number;
  rejected: number;
  /** runtime_state key of the last processed candle. */
  progressKey: NumberKey;
}

export interface EngineStatus {
  mode: TradingMode;
  venue: string;
  environment: string;
  marketType: MarketType;
  equity: number;
  cash: number;
  freeCash: number;
  unrealizedPnl: number;
  todayPnl: number;
  dayStartEquity: number;
  positions: BookPosition[];
  liveOrders: Order[];
  blocked: string | null;
  paused: boolean;
  halted: boolean;
  breaker: boolean;
  lastCandle: Record<string, { ts: number; close: number }>;
  now: number;
  /** Open positions without the stop-loss they were promised. */
  unprotected: ProtectionGap[];
}

/**
 * The trading engine: one code path for backtest, paper and live. Candles in, orders out, events
 * back. Everything it decides is journaled before it acts; everything it knows is rebuilt from the
 * journal at start.
 *
 * Per closed candle: validate → venue matches working orders (paper) → mark to market → risk
 * bookkeeping (daily drawdown) → strategy → risk verdict → (approval) → journal intent → submit.
 */
export class Engine implements ExchangeListener {
  readonly portfolio: Portfolio;
  readonly journal: Journal;
  readonly risk: RiskEngine;
  readonly exchange: ExchangeClient;
  readonly mode: TradingMode;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly alerts: AlertSink;
  private readonly alertsOn: boolean;
  private readonly venue: SimulatedVenue | null;
  private readonly symbols = new Map<string, SymbolState>();
  /** Orders that may still trade, by client order id. */
  readonly liveOrders = new Map<string, Order>();
  private nextEquityAt = 0;
  /** Journaled orders waiting for their transaction to commit before they go to the venue. */
  private outbox: Order[] = [];
  /** Exits waiting for their position's protective orders to be cancelled. */
  private held: Order[] = [];
  private inCandle = false;
  private equityDay = -1;
  private opts: EngineOptions;
  private readonly protection: ProtectionKeeper;
  private readonly positionRules = new PositionRules(this);
  private readonly drawdown: DrawdownGuard;
  private readonly approvals: ApprovalGate | undefined;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.mode = opts.mode;
    this.clock = opts.clock;
    this.journal = opts.journal;
    this.risk = opts.risk;
    this.exchange = opts.exchange;
    this.log = opts.logger;
    this.alerts = opts.alerts ?? NULL_ALERTS;
    this.alertsOn = this.alerts !== NULL_ALERTS;
    this.approvals = opts.approvals;
    this.venue = isSimulatedVenue(opts.exchange) ? opts.exchange : null;

    const flows = this.journal.cashFlows();
    const adjustments = STATE.cashAdjustments.read(this.journal);
    this.portfolio = Portfolio.fromJournal(
      opts.marketType,
      opts.startingCash + flows.fills + flows.funding + adjustments,
      this.journal.openPositions(),
    );
    for (const o of this.journal.liveOrders()) this.liveOrders.set(o.clientOrderId, o);

    for (const s of opts.symbols) {
      const progressKey = STATE.lastCandle(s.symbol);
      const resumeTs = opts.persistProgress ? progressKey.read(this.journal) : -Infinity;
      const st: SymbolState = {
        ...s,
        ctx: { symbol: s.symbol, position: null, pending: false, allowShort: opts.allowShort },
        resumeTs,
        lastClose: NaN,
        lastCandleTs: resumeTs,
        working: 0,
        accepted: 0,
        rejected: 0,
        progressKey,
      };
      this.symbols.set(s.symbol, st);
    }
    for (const o of this.liveOrders.values()) this.countWorking(o, +1);
    this.protection = new ProtectionKeeper({
      marketType: opts.marketType,
      venue: opts.exchange.name,
      position: (symbol) => this.portfolio.positions.get(symbol),
      liveOrders: () => this.liveOrders.values(),
      qtyStep: (symbol) => this.symbols.get(symbol)?.market.qtyStep ?? 0,
      lastPrice: (symbol) => this.lastPrice(symbol),
      defaults: () => this.risk.limits,
      record: (request, purpose, decisionId) => this.record(request, purpose, decisionId),
      send: (order) => this.send(order),
      cancelAtVenue: (order) => this.exchange.cancel(order),
      cancelUnsent: (order, reason) =>
        this.onOrderUpdate({ clientOrderId: order.clientOrderId, status: 'cancelled', ts: this.clock.now(), reason }),
      savePosition: (pos) => this.journal.updatePosition(pos.id, pos, pos.maxQty),
      raise: (a) => this.raise(a),
    });
    this.drawdown = new DrawdownGuard(this, opts.persistProgress);
    // Durable runs persist risk state (pause, halt, breaker, counters) on every change; a backtest never restarts.
    if (opts.persistProgress) this.risk.onChange = (state) => STATE.risk.write(this.journal, state, this.clock.now());
    opts.exchange.setListener(this);
  }

  // ---- market data --------------------------------------------------------------------------

  /**
   * Async strategy work for a candle (model inference), awaited by the feed before onCandle of the same candle;
   * undefined when the strategy has none, so feeds of plain strategies stay synchronous.
   */
  prepareCandle(symbol: string, candle: Candle): Promise<void> | undefined {
    const s = this.symbols.get(symbol);
    if (s === undefined || s.strategy.prepare === undefined || candle.ts <= s.resumeTs) return undefined;
    s.ctx.position = this.portfolio.positions.get(symbol)?.side ?? null;
    s.ctx.pending = s.working > 0;
    return s.strategy.prepare(candle, s.ctx);
  }

  /** One closed candle. The caller has set the clock to the candle's close time. Hot path. */
  onCandle(symbol: string, candle: Candle): void {
    const s = this.symbols.get(symbol);
    if (s === undefined) return;
    const v = s.validator.check(candle);
    if (candle.ts <= s.resumeTs) {
      // Seen before a restart: only rebuild indicator state; the journal already holds its effects.
      if (v.accepted) {
        s.ctx.position = this.portfolio.positions.get(symbol)?.side ?? null;
        s.strategy.onCandle(candle, s.ctx);
        s.lastClose = candle.close;
      }
      return;
    }
    if (v.issues.length > 0) this.onDataIssues(s, candle, v);
    if (!v.accepted) {
      s.rejected++;
      return;
    }
    s.accepted++;
    // One transaction per candle: fills, equity, decisions and order intents commit together, and
    // the orders reach the venue only after that commit (the journal has them first).
    this.inCandle = true;
    try {
      if (this.journal.inTransaction) this.processCandle(s, candle);
      else this.journal.tx(() => this.processCandle(s, candle));
    } finally {
      this.inCandle = false;
    }
    if (this.outbox.length > 0) this.sendOutbox();
    this.onCandleDone?.(symbol);
  }

  private processCandle(s: SymbolState, candle: Candle): void {
    const symbol = s.symbol;
    const now = this.clock.now();
    s.lastCandleTs = candle.ts;
    s.lastClose = candle.close;
    if (this.opts.persistProgress) s.progressKey.writeNumber(this.journal, candle.ts, now);

    if (this.venue !== null) this.venue.processCandle(symbol, candle);

    this.portfolio.mark(symbol, candle.close);
    this.risk.onBar(symbol, candle.close);
    const equity = this.portfolio.equity();
    const ev = this.risk.onEquity(now, equity);
    if (ev !== null) this.onRiskEvent(ev);
    this.drawdown.onEquity(now, equity);
    if (this.opts.metrics !== undefined) this.opts.metrics.onBar(now, equity, this.portfolio.positions.size > 0);
    if (now >= this.nextEquityAt || utcDayStart(now) !== this.equityDay) this.snapshotEquity(now, equity);

    this.positionRules.onCandle(symbol, candle, now);
    const pos = this.portfolio.positions.get(symbol);
    s.ctx.position = pos === undefined ? null : pos.side;
    s.ctx.pending = s.working > 0;
    const signal = s.strategy.onCandle(candle, s.ctx);
    if (signal !== null) this.onSignal(s, signal);
  }

  /** Hand journaled orders to the venue (a paper venue's books commit with them). */
  private sendOutbox(): void {
    const orders = this.outbox;
    this.outbox = [];
    const send = () => {
      for (const o of orders) this.exchange.submit(o);
    };
    if (this.journal.inTransaction) send();
    else this.journal.tx(send);
    if (this.outbox.length > 0) this.sendOutbox();
  }

  private onDataIssues(s: SymbolState, candle: Candle, v: CheckResult): void {
    const now = this.clock.now();
    for (const issue of v.issues) {
      this.journal.recordDataEvent({
        ts: now,
        symbol: s.symbol,
        timeframe: s.validator.timeframe,
        candleTs: candle.ts,
        kind: issue.kind,
        severity: issue.severity,
        detail: issue.detail,
      });
      if (this.alertsOn) {
        this.alerts.raise({
          type: issue.kind === 'gap' ? 'data_gap' : 'bad_candle',
          severity: 'warning',
          title: `${s.symbol} ${issue.kind.replace('_', ' ')}`,
          message: `${issue.detail}${issue.severity === 'reject' ? ' — candle ignored' : ''}`,
          key: `data:${s.symbol}:${issue.kind}`,
        });
      }
    }
  }

  private snapshotEquity(now: number, equity: number): void {
    this.journal.recordEquity(now, equity, this.portfolio.cash, this.portfolio.unrealized(), this.portfolio.exposure());
    this.nextEquityAt = now + this.opts.equityEveryMs;
    this.equityDay = utcDayStart(now);
  }

  // ---- signals → orders ---------------------------------------------------------------------

  private onSignal(s: SymbolState, signal: Signal): void {
    const busy = orderInFlight(this.liveOrders.values(), s.symbol);
    if (busy !== undefined) {
      // One order at a time per position: a second exit while the first is unanswered could sell what the bot does not hold.
      const reason = `${busy.clientOrderId} (${busy.purpose ?? 'order'} ${busy.side}) is still ${busy.status}: no new entry or exit on ${s.symbol} until the venue has answered`;
      this.journal.recordDecision(signal, { action: 'reject', rule: 'order_in_flight', reason }, undefined);
      return;
    }
    const pos = this.portfolio.positions.get(s.symbol);
    const action = signal.action;
    if (action === 'exit_long' || action === 'exit_short') {
      const want = action === 'exit_long' ? 'long' : 'short';
      if (pos === undefined || pos.side !== want) return;
      this.exit(s, signal, pos, 'exit');
      return;
    }
    const dir = action === 'enter_long' ? 'long' : 'short';
    if (dir === 'short' && !this.opts.allowShort) return;
    if (pos !== undefined) {
      if (pos.side === dir) return;
      this.exit(s, signal, pos, 'exit'); // flip: close the opposite position first
    }
    this.enter(s, signal, dir === 'long' ? 'buy' : 'sell');
  }

  /** `closable`: for an exit, what is left of the position to close (net of the exits already working). */
  private riskContext(s: SymbolState, price: number, closable?: number): RiskContext {
    const book = this.portfolio.positions.get(s.symbol);
    const pos = book && closable !== undefined ? { side: book.side, qty: closable } : book;
    return {
      now: this.clock.now(),
      equity: this.portfolio.equity(),
      freeCash: this.portfolio.freeCash(),
      capitalInUse: this.portfolio.capitalInUse(),
      openPositions: this.portfolio.positions.size,
      marketType: this.opts.marketType,
      position: pos ? { side: pos.side, qty: pos.qty } : null,
      price,
      qtyStep: s.market.qtyStep,
      minQty: s.market.minQty,
      minNotional: s.market.minNotional,
      takerFee: this.opts.takerFee,
    };
  }

  private bracketFor(signal: Signal, side: Side): { stopLoss?: number; takeProfit?: number } {
    const lim = this.risk.limits;
    const sign = side === 'buy' ? 1 : -1;
    const b: { stopLoss?: number; takeProfit?: number } = {};
    const sl = signal.stopLoss ?? (lim.stopLossPct != null ? signal.price * (1 - sign * lim.stopLossPct) : undefined);
    const tp = signal.takeProfit ?? (lim.takeProfitPct != null ? signal.price * (1 + sign * lim.takeProfitPct) : undefined);
    if (sl !== undefined) b.stopLoss = sl;
    if (tp !== undefined) b.takeProfit = tp;
    return b;
  }

  private enter(s: SymbolState, signal: Signal, side: Side): void {
    const bracket = this.bracketFor(signal, side);
    const sig: Signal =
      bracket.stopLoss !== undefined && signal.stopLoss === undefined ? { ...signal, stopLoss: bracket.stopLoss } : signal;
    const request: OrderRequest = { symbol: s.symbol, side, type: 'market', tif: 'GTC', reduceOnly: false };
    if (this.opts.marketType === 'perp') request.leverage = this.opts.leverage;
    const intent: RiskIntent = { signal: sig, request, reducing: false };
    const decision = this.risk.evaluate(intent, this.riskContext(s, signal.price));
    this.decide(s, sig, decision, 'entry', bracket, undefined);
  }

  private exit(s: SymbolState, signal: Signal, pos: BookPosition, purpose: OrderPurpose): void {
    this.decide(s, signal, this.exitVerdict(s, signal, pos, closeRequest(pos)), purpose, {}, pos.qty);
  }

  /**
   * An exit's verdict, sized from the journal's position net of the exits already working (never
   * from the venue's balance): refused when they cover it all. `ignoring`: exits being cancelled.
   */
  private exitVerdict(
    s: SymbolState,
    signal: Signal,
    pos: BookPosition,
    request: OrderRequest,
    ignoring?: ReadonlySet<string>,
  ): RiskDecision {
    const exiting = exitingQty(this.liveOrders.values(), s.symbol, pos.side, ignoring);
    const closable = Math.max(0, pos.qty - exiting);
    if (exiting > 0 && closable < Math.max(s.market.minQty, 1e-12)) {
      const reason = `exits already working cover the ${pos.side} ${s.symbol} position (${qty(exiting, s.market.qtyStep)} of ${qty(pos.qty, s.market.qtyStep)}): nothing more to close`;
      return { action: 'reject', rule: 'exit_in_flight', reason };
    }
    return this.risk.evaluate({ signal, request, reducing: true }, this.riskContext(s, signal.price, closable));
  }

  /** Journal the verdict, then place the order, or ask for approval first. */
  private decide(
    s: SymbolState,
    signal: Signal,
    decision: RiskDecision,
    purpose: OrderPurpose,
    bracket: { stopLoss?: number; takeProfit?: number },
    requestedQty: number | undefined,
  ): void {
    const decisionId = this.journal.recordDecision(signal, decision, requestedQty);
    if (decision.action === 'reject' || decision.request === undefined) {
      this.log.debug({ symbol: s.symbol, rule: decision.rule, reason: decision.reason }, 'risk rejected');
      return;
    }
    const notional = (decision.request.qty ?? 0) * signal.price + (decision.request.quoteQty ?? 0);
    if (this.approvals !== undefined && this.approvals.required({ signal, decision, notional })) {
      this.journal.updateDecision(decisionId, { approval: 'pending' });
      s.working++; // a pending proposal blocks further entries like a working order
      this.approvals.propose({ decisionId, signal, request: decision.request, decision, purpose, notional, bracket });
      return;
    }
    this.submit(decision.request, purpose, decisionId, bracket);
    if (purpose === 'entry') this.risk.recordEntry(this.clock.now());
  }

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
    const request: OrderRequest = { ...p.request };
    if (reducing && pos) request.qty = Math.max(0, pos.qty - exitingQty(this.liveOrders.values(), s.symbol, pos.side));
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
    const o = this.submit(again.request, p.purpose, p.decisionId, p.bracket);
    if (p.purpose === 'entry') this.risk.recordEntry(this.clock.now());
    return {
      placed: true,
      message: `placed ${o.clientOrderId}${again.action === 'resize' ? ` (${again.reason})` : ''}`,
      clientOrderId: o.clientOrderId,
    };
  }

  /** Write the intent, then hand the order to the venue. The journal has it before the venue does. */
  submit(
    request: OrderRequest,
    purpose: OrderPurpose,
    decisionId?: number,
    bracket: { stopLoss?: number; takeProfit?: number } = {},
    clientOrderId?: string,
  ): Order {
    const order = this.record(request, purpose, decisionId, bracket, clientOrderId);
    // An exit must not race the position's own stop-loss/take-profit: on spot they hold the coins it
    // would sell. Cancel them first; the exit waits (journaled as `new`) until they are gone.
    const guards = request.reduceOnly && !PROTECTIVE.has(purpose) ? this.protectiveOrders(request.symbol) : [];
    if (guards.length > 0) {
      this.held.push(order);
      for (const g of guards) this.cancel(g);
      return order;
    }
    this.send(order);
    return order;
  }

  /** Journal an order intent (status `new`); nothing is sent. */
  private record(
    request: OrderRequest,
    purpose: OrderPurpose,
    decisionId?: number,
    bracket: { stopLoss?: number; takeProfit?: number } = {},
    clientOrderId?: string,
  ): Order {
    const now = this.clock.now();
    const order: Order = {
      ...request,
      clientOrderId: clientOrderId ?? this.journal.nextClientOrderId(`${this.opts.botId}-`, now),
      status: 'new',
      filledQty: 0,
      avgPrice: 0,
      fee: 0,
      createdAt: now,
      updatedAt: now,
      purpose,
    };
    if (decisionId) order.decisionId = decisionId;
    if (bracket.stopLoss !== undefined) order.stopLoss = bracket.stopLoss;
    if (bracket.takeProfit !== undefined) order.takeProfit = bracket.takeProfit;
    this.journal.tx(() => {
      this.journal.insertOrder(order, this.exchange.name);
      if (decisionId && !PROTECTIVE.has(purpose)) this.journal.updateDecision(decisionId, { clientOrderId: order.clientOrderId });
    });
    this.liveOrders.set(order.clientOrderId, order);
    this.countWorking(order, +1);
    return order;
  }

  private send(order: Order): void {
    this.journal.tx(() => {
      order.status = 'submitted';
      order.updatedAt = this.clock.now();
      this.journal.updateOrder(order, 'new');
    });
    if (this.exchange.journalBacked === true) {
      // The venue's books commit with this transaction: intent and acceptance are one atomic write.
      this.exchange.submit(order);
      return;
    }
    this.outbox.push(order);
    // During a candle the outbox goes out after the candle's commit; otherwise (commands) right away.
    if (!this.inCandle) this.sendOutbox();
  }

  private protectiveOrders(symbol: string): Order[] {
    const out: Order[] = [];
    for (const o of this.liveOrders.values()) if (o.symbol === symbol && PROTECTIVE.has(o.purpose)) out.push(o);
    return out;
  }

  /** Held exits go out once their position's protective orders are gone (or are dropped with it). */
  private releaseHeld(symbol: string): void {
    if (this.held.length === 0 || this.protectiveOrders(symbol).length > 0) return;
    const ready = this.held.filter((o) => o.symbol === symbol);
    if (ready.length === 0) return;
    this.held = this.held.filter((o) => o.symbol !== symbol);
    this.protection.coverRest(symbol, ready); // what the exits leave stays protected meanwhile
    for (const o of ready) {
      const pos = this.portfolio.positions.get(symbol);
      const closing = pos && (pos.side === 'long') === (o.side === 'sell');
      if (!closing) {
        this.onOrderUpdate({
          clientOrderId: o.clientOrderId,
          status: 'cancelled',
          ts: this.clock.now(),
          reason: 'not sent: the position had already closed (its stop or take-profit filled)',
        });
        continue;
      }
      if (o.qty !== undefined && o.qty > pos.qty) o.qty = pos.qty;
      this.send(o);
    }
  }

  private countWorking(o: Order, d: number): void {
    if (PROTECTIVE.has(o.purpose)) return;
    const s = this.symbols.get(o.symbol);
    if (s) s.working = Math.max(0, s.working + d);
  }

  cancel(order: Order): void {
    if (this.protection.dropUnsent(order, 'cancelled before it was sent')) return;
    this.exchange.cancel(order);
  }

  // ---- venue events -------------------------------------------------------------------------

  /** Execution algos (src/execution/algo.ts): a candle was processed (their candle-time schedule)… */
  onCandleDone: ((symbol: string) => void) | undefined;
  /** …and /pause or /flatten stops their remaining children. */
  onStopAlgos: ((why: string, cancelChildren: boolean) => void) | undefined;

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

  /** A funding payment (perps): journaled once, booked to the wallet. */
  onFunding(p: FundingPayment): void {
    const fresh = this.journal.recordFunding({
      venue: this.exchange.name,
      paymentId: p.paymentId,
      symbol: p.symbol,
      amount: p.amount,
      rate: p.rate ?? null,
      ts: p.ts,
    });
    if (!fresh) return;
    this.portfolio.cash += p.amount;
    this.log.info({ funding: p }, 'funding payment');
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
    o.status = u.status;
    if (u.exchangeOrderId) o.exchangeOrderId = u.exchangeOrderId;
    if (u.reason) o.reason = u.reason;
    o.updatedAt = u.ts;
    this.journal.updateOrder(o, from, u.reason);
    if (isTerminal(o.status)) {
      this.liveOrders.delete(o.clientOrderId);
      this.countWorking(o, -1);
      if (PROTECTIVE.has(o.purpose)) this.releaseHeld(o.symbol);
    }
    switch (o.status) {
      case 'rejected': {
        const ev = this.risk.onOrderError(o.reason ?? 'rejected', u.ts);
        // (A refused stop-loss / take-profit is a critical alert of its own: see protection.ts.)
        if (this.alertsOn && !PROTECTIVE.has(o.purpose)) {
          this.alerts.raise({
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
  }

  onFill(f: Fill): void {
    const o = this.liveOrders.get(f.clientOrderId) ?? this.journal.getOrder(f.clientOrderId);
    if (!o && !this.ownsOrderId(f.clientOrderId)) {
      // Already booked (under the order it belongs to): a second sighting by another id is no external trade.
      if (this.journal.hasFill(this.exchange.name, f.tradeId)) return;
      // A trade of an order this bot did not place (someone trading the same account): not ours to book.
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
    this.journal.tx(() => {
      fresh = this.journal.recordFill(this.exchange.name, f, effect.realizedPnl, effect.cashDelta);
      if (!fresh) return;
      result = this.portfolio.apply(f, effect, lev, (p) =>
        this.journal.openPosition(p, o?.purpose === 'manual' ? 'manual' : this.strategyName(f.symbol)),
      );
      if (result.closed) this.journal.closePosition(result.closed.id, result.closed, f.price, f.ts);
      if (result.after && !result.opened) this.journal.updatePosition(result.after.id, result.after, result.after.maxQty);
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
      if (r.closed) this.opts.metrics.onTradeClosed(r.closed.realizedPnl - r.closed.fees);
    }
    if (r.closed) {
      const ev = this.risk.onTradeClosed(r.closed.realizedPnl - r.closed.fees, f.ts);
      if (ev) this.onRiskEvent(ev);
      this.cancelProtection(f.symbol, f.clientOrderId);
    }
    // A fill heard after its order ended (reconciliation) still changes what must be protected.
    if (o && isTerminal(o.status) && r.after) this.protection.afterOrder(o, o.status);
    const s = this.symbols.get(f.symbol);
    if (s) this.portfolio.mark(f.symbol, Number.isFinite(s.lastClose) ? s.lastClose : f.price);
    if (this.alertsOn) this.fillAlerts(f, o, r);
  }

  private fillAlerts(f: Fill, o: Order | undefined, r: NonNullable<ReturnType<Portfolio['apply']>>): void {
    const liq = !o && f.clientOrderId.startsWith('liq-');
    const m = this.marketInfo(f.symbol);
    const quote = splitSymbol(f.symbol)[1];
    const px = (x: number): string => price(x, m?.priceStep);
    const size = (x: number): string => qty(x, m?.qtyStep);
    this.raise({
      figures: tradeFigures(f.symbol, { qty: f.qty, price: f.price, fee: f.fee, ccy: f.feeCurrency }),
      type: 'order_filled',
      severity: liq ? 'critical' : 'info',
      title: `${liq ? 'LIQUIDATION: ' : ''}${f.side.toUpperCase()} ${size(f.qty)} ${f.symbol} @ ${px(f.price)}`,
      message: `${f.clientOrderId} filled ${size(f.qty)} @ ${px(f.price)}, fee ${assetAmount(f.fee, f.feeCurrency, m)}`,
      data: { clientOrderId: f.clientOrderId, tradeId: f.tradeId },
    });
    if (r.closed) {
      const pnl = r.closed.realizedPnl - r.closed.fees;
      if (o?.purpose === 'stop_loss') {
        this.raise({
          figures: tradeFigures(f.symbol, { qty: r.before?.qty ?? f.qty, price: f.price, pnl }),
          type: 'stop_hit',
          severity: 'warning',
          title: `Stop-loss hit on ${f.symbol}`,
          message: `closed ${r.closed.side} at ${px(f.price)}, PnL ${signedMoney(pnl, quote)}`,
        });
      }
      this.raise({
        figures: tradeFigures(f.symbol, { qty: r.before?.qty ?? f.qty, price: f.price, pnl }),
        type: 'position_closed',
        severity: 'info',
        title: `Closed ${r.closed.side} ${f.symbol}`,
        message: `exit ${px(f.price)}, entry ${px(r.closed.entryPrice)}, net PnL ${signedMoney(pnl, quote)}, trade ${tradeId(r.closed)}`,
      });
    }
    if (r.opened && r.after) {
      this.raise({
        figures: tradeFigures(f.symbol, { qty: r.after.qty, price: r.after.entryPrice }),
        type: 'position_opened',
        severity: 'info',
        title: `Opened ${r.after.side} ${f.symbol}`,
        message: `${size(r.after.qty)} @ ${px(r.after.entryPrice)}${r.after.liquidationPrice ? `, liquidation ${px(r.after.liquidationPrice)}` : ''}, trade ${tradeId(r.after)}`,
      });
    }
  }

  private raise(a: AlertInput): void {
    this.alerts.raise(a);
  }

  private strategyName(symbol: string): string | undefined {
    return this.symbols.get(symbol)?.strategy.name;
  }

  /** Every open position gets the protection it was promised (at start, after reconciliation). */
  protectPositions(): void {
    this.protection.ensureAll([...this.portfolio.positions.keys()]);
  }

  /** When a position closes, its remaining protective orders go. */
  private cancelProtection(symbol: string, except: string): void {
    for (const o of this.liveOrders.values()) {
      if (o.symbol === symbol && o.clientOrderId !== except && PROTECTIVE.has(o.purpose)) this.cancel(o);
    }
  }

  private onRiskEvent(ev: RiskEvent): void {
    this.log.warn({ risk: ev }, `${ev.title}: ${ev.message}`);
    this.raise({
      type: ev.kind === 'breaker' ? 'circuit_breaker' : 'risk_halt',
      severity: ev.kind === 'halt_lifted' ? 'info' : 'critical',
      title: ev.title,
      message: ev.message,
    });
  }

  // ---- controls (chat commands call these) --------------------------------------------------

  pause(by: string): void {
    this.risk.pause(by, this.clock.now());
    this.onStopAlgos?.(`paused by ${by}`, true);
  }

  resume(by: string, opts: { clearHalt?: boolean; clearBreaker?: boolean } = {}): void {
    this.risk.resume(by, this.clock.now(), opts);
  }

  /** Cancel every working order and close every position at market. */
  flatten(by: string): { cancelled: number; closing: string[] } {
    this.onStopAlgos?.(`flatten by ${by}`, false); // flatten cancels every working order itself
    let cancelled = 0;
    for (const o of this.held.splice(0)) {
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
      this.exchange.cancel(o);
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

  /** Close one position at market (reduce-only); `qty`: only that much of it (a partial close). */
  closePosition(symbol: string, by: string, purpose: OrderPurpose = 'manual', ignoring?: ReadonlySet<string>, qty?: number): Order | null {
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
    const order = this.submit(decision.request, purpose, decisionId);
    this.opts.onTraderOrder?.();
    return order;
  }

  /** Move a position's stop / take-profit (chat, trailing): the new orders are journaled before the old go (protection.ts). */
  setProtection(symbol: string, promise: { stopLoss?: number; takeProfit?: number }): void {
    this.protection.ensure(symbol, promise);
  }

  /** A manual order from chat: through the risk engine like any other. `dryRun`: the verdict only (nothing journaled or placed). */
  manualOrder(
    req: { symbol: string; side: Side; qty?: number; quoteQty?: number; price?: number },
    by: string,
    opts: { dryRun?: boolean; clientOrderId?: string; continuation?: boolean } = {},
  ): { decision: RiskDecision; order?: Order } {
    const s = this.symbols.get(req.symbol);
    if (!s) return { decision: { action: 'reject', rule: 'unknown_symbol', reason: `not trading ${req.symbol}` } };
    const price = req.price ?? s.lastClose;
    const pos = this.portfolio.positions.get(req.symbol);
    const reducing = !!pos && ((pos.side === 'long' && req.side === 'sell') || (pos.side === 'short' && req.side === 'buy'));
    const signal: Signal = {
      symbol: req.symbol,
      action: reducing ? (pos!.side === 'long' ? 'exit_long' : 'exit_short') : req.side === 'buy' ? 'enter_long' : 'enter_short',
      ts: this.clock.now(),
      price,
      strategy: 'manual',
      reason: `manual ${req.side} by ${by}`,
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
    const bracket = reducing ? {} : this.bracketFor(signal, req.side);
    const sig = bracket.stopLoss !== undefined ? { ...signal, stopLoss: bracket.stopLoss } : signal;
    const decision = reducing
      ? this.exitVerdict(s, sig, pos!, request)
      : this.risk.evaluate({ signal: sig, request, reducing, continuation: opts.continuation }, this.riskContext(s, price));
    if (opts.dryRun) return { decision };
    const decisionId = this.journal.recordDecision(sig, decision, request.qty);
    if (decision.action === 'reject' || !decision.request) return { decision };
    const order = this.submit(decision.request, 'manual', decisionId, bracket, opts.clientOrderId);
    if (!reducing && !opts.continuation) this.risk.recordEntry(this.clock.now());
    this.opts.onTraderOrder?.();
    return { decision, order };
  }

  // ---- reconciliation -----------------------------------------------------------------------

  /** Our client order ids carry the bot's prefix; venue-generated closes of our positions count as ours. */
  ownsOrderId(clientOrderId: string): boolean {
    return clientOrderId.startsWith(`${this.opts.botId}-`) || /^(liq-|autoclose-|adl_autoclose)/.test(clientOrderId);
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
        this.journal.closePosition(cur.id, cur, cur.markPrice, now);
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
    else this.cancelProtection(symbol, '');
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
      paused: rs.paused,
      halted: rs.halted,
      breaker: rs.breakerTripped,
      lastCandle,
      now,
      unprotected: this.protection.gaps(this.symbols.keys()),
    };
  }
}

/** A market order that closes the whole position. */
const closeRequest = (pos: BookPosition): OrderRequest => ({
  symbol: pos.symbol,
  side: pos.side === 'long' ? 'sell' : 'buy',
  type: 'market',
  tif: 'GTC',
  reduceOnly: true,
  qty: pos.qty,
});
