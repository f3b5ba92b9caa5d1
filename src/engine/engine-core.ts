// The engine's core: its state, the candle loop (market data → signals → risk → orders) and order
// submission (journal first, then the outbox to the venue). Engine (engine.ts) adds venue events,
// controls, reconciliation and views on top of it.
import type { Logger } from '../core/logger.ts';
import type { AlertInput, AlertSink } from '../core/alerts.ts';
import { NULL_ALERTS } from '../core/alerts.ts';
import { DAY_MS, utcDayStart, type Clock } from '../core/clock.ts';
import { qty } from '../core/format.ts';
import {
  type Bracket,
  type Candle,
  type MarketInfo,
  type MarketType,
  type Order,
  type OrderPurpose,
  type OrderRequest,
  type Side,
  type Signal,
  type TradingMode,
} from '../core/types.ts';
import type { ExchangeClient, OrderUpdate, SimulatedVenue } from '../exchange/types.ts';
import { isSimulatedVenue } from '../exchange/types.ts';
import { STATE } from '../journal/state-keys.ts';
import { noDataIssues, tallyIssue } from '../market/data-issues.ts';
import { alertForIssue, type CheckResult } from '../market/validator.ts';
import type { RiskContext, RiskDecision, RiskEvent, RiskIntent } from '../risk/types.ts';
import { exitingQty, inFlight, isExit, orderInFlight, pendingEntries, reduces, standAside } from './in-flight.ts';
import { Portfolio, type BookPosition } from './portfolio.ts';
import { CandleAlerts } from './candle-alerts.ts';
import { HeldExits } from './held-exits.ts';
import { PROTECTIVE, ProtectionKeeper } from './protection.ts';
import { PositionRules } from './position-rules.ts';
import { tradeId } from './trades.ts';
import { TradeAddsBook } from './trade-adds.ts';
import { scaleOut } from './scale-out.ts';
import { DrawdownGuard } from './drawdown-guard.ts';
import { ProgressWriter } from './progress.ts';
import type { EngineEvents } from './engine-events.ts';
import type { EngineOptions, SymbolState } from './engine-types.ts';
import { NativeTrails } from './native-trail.ts';
import type { ApprovalGate, EngineRisk, EntrySplitter, Proposal, TradingJournal } from './ports.ts';

export abstract class EngineCore {
  readonly portfolio: Portfolio;
  readonly journal: TradingJournal;
  protected readonly tradeAdds: TradeAddsBook;
  readonly risk: EngineRisk;
  readonly exchange: ExchangeClient;
  readonly mode: TradingMode;
  readonly marketType: MarketType;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly alerts: AlertSink;
  protected readonly alertsOn: boolean;
  protected readonly venue: SimulatedVenue | null;
  protected readonly symbols = new Map<string, SymbolState>();
  /** Orders that may still trade, by client order id. */
  readonly liveOrders = new Map<string, Order>();
  protected nextEquityAt = 0;
  /** Journaled orders waiting for their transaction to commit before they go to the venue. */
  protected outbox: Order[] = [];
  /** Exits waiting for their position's protective orders (and the exits they replace) to be cancelled. */
  protected readonly held = new HeldExits();
  protected inCandle = false;
  private readonly candleAlerts: CandleAlerts;
  protected equityDay = -1;
  protected opts: EngineOptions;
  protected readonly protection: ProtectionKeeper;
  protected readonly positionRules = new PositionRules(this);
  readonly nativeTrails = new NativeTrails(this);
  protected readonly drawdown: DrawdownGuard;
  protected readonly approvals: ApprovalGate | undefined;
  protected readonly events: EngineEvents | undefined;
  protected readonly progress: ProgressWriter;
  /** Large strategy entries go out as TWAP/iceberg parents through it (execution.signals). */
  protected readonly splitter: EntrySplitter | undefined;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.mode = opts.mode;
    this.marketType = opts.marketType;
    this.clock = opts.clock;
    this.journal = opts.journal;
    this.tradeAdds = new TradeAddsBook(opts.journal);
    this.risk = opts.risk;
    this.exchange = opts.exchange;
    this.log = opts.logger;
    this.alerts = opts.alerts ?? NULL_ALERTS;
    this.candleAlerts = new CandleAlerts(this.alerts);
    this.alertsOn = this.alerts !== NULL_ALERTS;
    this.approvals = opts.approvals;
    this.splitter = opts.entrySplitter;
    this.events = opts.events;
    this.venue = isSimulatedVenue(opts.exchange) ? opts.exchange : null;
    this.progress = new ProgressWriter(this.journal);

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
        issues: noDataIssues(),
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
      priceStep: (symbol) => this.symbols.get(symbol)?.market.priceStep,
      lastPrice: (symbol) => this.lastPrice(symbol),
      nativeTrail: (pos) => this.nativeTrails.forStop(pos),
      // A strategy with its own stop-out (the grid) gets no default stop-loss/take-profit orders.
      defaults: () => (opts.strategyStops ? NO_DEFAULT_PROTECTION : this.risk.limits),
      record: (request, purpose, decisionId) => this.record(request, purpose, decisionId),
      send: (order) => this.send(order),
      cancelAtVenue: (order, why) => this.cancelAtVenue(order, why),
      cancelUnsent: (order, reason) =>
        this.onOrderUpdate({ clientOrderId: order.clientOrderId, status: 'cancelled', ts: this.clock.now(), reason }),
      savePosition: (pos) => this.journal.updatePosition(pos.id, pos, pos.maxQty),
      raise: (a) => this.raise(a),
      exitAtStop: (symbol, why) => this.closeAtStop(symbol, why),
      exitAtTakeProfit: (symbol, why) => this.closeAll(symbol, why, 'tp_exit').order,
      restingExits: (symbol, side) => this.restingExits(symbol, side),
    });
    this.drawdown = new DrawdownGuard(this, opts.persistProgress);
  }

  // ---- market data --------------------------------------------------------------------------

  /**
   * Async strategy work for a candle (model inference), awaited by the feed before onCandle of the same candle;
   * undefined when the strategy has none, so feeds of plain strategies stay synchronous.
   */
  prepareCandle(symbol: string, candle: Candle): Promise<void> | undefined {
    const s = this.symbols.get(symbol);
    if (s === undefined || s.strategy.prepare === undefined || candle.ts <= s.resumeTs) return undefined;
    const pos = this.portfolio.positions.get(symbol);
    s.ctx.position = pos?.side ?? null;
    s.ctx.pending = s.working > 0;
    // Policies read it (observation.extra unrealized_pnl): the open position marked at this candle's close.
    s.ctx.unrealizedPnlPct = pos === undefined ? 0 : ((pos.side === 'long' ? 1 : -1) * (candle.close - pos.entryPrice)) / pos.entryPrice;
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
        this.portfolio.mark(symbol, candle.close); // a restored position shows its last mark, not its entry
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
    // the orders reach the venue only after that commit (the journal has them first). The candle's
    // bookkeeping that nothing in it reads back (its info/warning alerts, the runtime-state keys the
    // journal holds) is written after the decision, in the same transaction: latency profile, these
    // were ~25 % of the time from the candle to the order.
    this.inCandle = true;
    try {
      // Inside a run's transaction (backtests, replay groups) no closure is made: a candle allocates little.
      if (this.journal.inTransaction) this.candleWork(s, candle);
      else this.journal.tx(() => this.journal.held.group(() => this.candleWork(s, candle)));
    } finally {
      this.inCandle = false;
      this.candleAlerts.drop(); // a candle that threw is rolled back with its alerts
    }
    if (this.outbox.length > 0) this.sendOutbox();
    this.events?.candleDone(symbol);
  }

  private candleWork(s: SymbolState, candle: Candle): void {
    this.processCandle(s, candle);
    this.candleAlerts.flush();
  }

  /** Many candles in one transaction (a max-speed replay): their progress is written once, at its end. */
  onCandleGroup(fn: () => void): void {
    this.journal.tx(() => this.journal.held.group(() => this.progress.group(fn)));
  }

  protected processCandle(s: SymbolState, candle: Candle): void {
    const symbol = s.symbol;
    const now = this.clock.now();
    s.lastCandleTs = candle.ts;
    s.lastClose = candle.close;
    if (this.opts.persistProgress) this.progress.write(s.progressKey, candle.ts, now);

    if (this.venue !== null) this.venue.processCandle(symbol, candle);

    this.portfolio.mark(symbol, candle.close);
    this.risk.onBar(symbol, candle.close);
    const equity = this.checkEquity(now);
    if (this.opts.metrics !== undefined) this.opts.metrics.onBar(now, equity, this.portfolio.positions.size > 0);
    // A new UTC day (or the first candle: equityDay -1) also takes a snapshot: a report's day starts with one.
    if (now >= this.nextEquityAt || now >= this.equityDay + DAY_MS || now < this.equityDay) this.snapshotEquity(now, equity);

    this.positionRules.onCandle(symbol, candle, now);
    let pos = this.portfolio.positions.get(symbol);
    if (pos !== undefined && pos.stopLoss !== undefined && this.protection.watch(pos, candle.low, candle.high))
      pos = this.portfolio.positions.get(symbol); // closed at its stop (at once on the paper venue)
    if (pos !== undefined && pos.takeProfit !== undefined && this.protection.watchTakeProfit(pos, candle.low, candle.high))
      pos = this.portfolio.positions.get(symbol); // spot: closed at the take-profit the bot watches
    s.ctx.position = pos === undefined ? null : pos.side;
    s.ctx.pending = s.working > 0;
    const signal = s.strategy.onCandle(candle, s.ctx);
    if (signal !== null) this.onSignal(s, signal);
  }

  /** The equity now, through the daily drawdown halt and the total drawdown kill switch. */
  protected checkEquity(now: number): number {
    const equity = this.portfolio.equity();
    const ev = this.risk.onEquity(now, equity);
    if (ev !== null) this.onRiskEvent(ev);
    this.drawdown.onEquity(now, equity);
    return equity;
  }

  /** Hand journaled orders to the venue (a paper venue's books commit with them). */
  protected sendOutbox(): void {
    const orders = this.outbox;
    this.outbox = [];
    const send = () => {
      for (const o of orders) this.exchange.submit(o);
    };
    if (this.journal.inTransaction) send();
    else this.journal.tx(send);
    if (this.outbox.length > 0) this.sendOutbox();
  }

  protected onDataIssues(s: SymbolState, candle: Candle, v: CheckResult): void {
    const now = this.clock.now();
    for (const issue of v.issues) {
      tallyIssue(s.issues, issue);
      this.journal.recordDataEvent({
        ts: now,
        symbol: s.symbol,
        timeframe: s.validator.timeframe,
        candleTs: candle.ts,
        kind: issue.kind,
        severity: issue.severity,
        detail: issue.detail,
      });
      if (this.alertsOn) this.raise(alertForIssue(issue));
    }
  }

  protected snapshotEquity(now: number, equity: number): void {
    this.journal.recordEquity(now, equity, this.portfolio.cash, this.portfolio.unrealized(), this.portfolio.exposure());
    this.nextEquityAt = now + this.opts.equityEveryMs;
    this.equityDay = utcDayStart(now);
  }

  // ---- signals → orders ---------------------------------------------------------------------

  protected onSignal(s: SymbolState, signal: Signal): void {
    const action = signal.action;
    const exiting = action === 'exit_long' || action === 'exit_short';
    // A split entry still buying would rebuild what the exit sells: it stops first.
    if (exiting) this.splitter?.stopEntries(s.symbol, `${signal.strategy} signalled ${action.replaceAll('_', ' ')}`);
    const busy = orderInFlight(this.liveOrders.values(), s.symbol);
    if (busy !== undefined) {
      // One order at a time per position: a second exit while the first is unanswered could sell what the bot does not hold.
      const reason = `${busy.clientOrderId} (${busy.purpose ?? 'order'} ${busy.side}) is still ${busy.status}: no new entry or exit on ${s.symbol} until the venue has answered`;
      this.journal.recordDecision(signal, { action: 'reject', rule: 'order_in_flight', reason }, undefined);
      return;
    }
    const pos = this.portfolio.positions.get(s.symbol);
    if (exiting) {
      const want = action === 'exit_long' ? 'long' : 'short';
      if (pos === undefined || pos.side !== want) return;
      this.exit(s, signal, pos, 'exit');
      return;
    }
    const dir = action === 'enter_long' ? 'long' : 'short';
    if (dir === 'short' && !this.opts.allowShort) return;
    const parent = this.splitter?.building(s.symbol);
    if (parent !== undefined) {
      const reason = `${parent} is still building the ${s.symbol} position from an earlier entry: no new entry until it ends`;
      this.journal.recordDecision(signal, { action: 'reject', rule: 'entry_in_progress', reason }, undefined);
      return;
    }
    if (pos !== undefined) {
      if (this.addsOff(pos, dir)) return;
      if (pos.side === dir) return this.enter(s, signal, dir === 'long' ? 'buy' : 'sell'); // an add (pyramiding)
      this.exit(s, signal, pos, 'exit'); // flip: close the opposite position first
    }
    this.enter(s, signal, dir === 'long' ? 'buy' : 'sell');
  }

  /** A strategy entry that would add to an open position on its side while pyramiding is off: not sent. */
  protected addsOff(pos: BookPosition | undefined, dir: 'long' | 'short'): boolean {
    return pos !== undefined && pos.side === dir && this.risk.limits.pyramidMaxAdds === 0;
  }

  /** `closable`: an exit's part of the position left to close. Pending: working entries, parents' unsent slices (not `parent`'s). */
  protected riskContext(s: SymbolState, price: number, closable?: number, parent?: string): RiskContext {
    const book = this.portfolio.positions.get(s.symbol);
    const pos = book && closable !== undefined ? { side: book.side, qty: closable } : book;
    const pending = pendingEntries(
      this.liveOrders.values(),
      {
        symbol: s.symbol,
        spot: this.opts.marketType === 'spot',
        leverage: this.opts.leverage,
        lastPrice: (x) => this.lastPrice(x),
        hasPosition: (x) => this.portfolio.positions.has(x),
      },
      this.splitter?.unsent(parent),
    );
    return {
      now: this.clock.now(),
      equity: this.portfolio.equity(),
      freeCash: this.portfolio.freeCash(),
      capitalInUse: this.portfolio.capitalInUse() + pending.capital,
      pendingCapital: pending.capital,
      openPositions: this.portfolio.positions.size + pending.newSymbols,
      marketType: this.opts.marketType,
      position: pos ? this.positionForRisk(book!, pos, closable === undefined) : null,
      price,
      qtyStep: s.market.qtyStep,
      minQty: s.market.minQty,
      minNotional: s.market.minNotional,
      takerFee: this.opts.takerFee,
    };
  }

  /** An add is judged with the whole position: its entry, stop and adds so far. */
  private positionForRisk(
    book: BookPosition,
    pos: { side: BookPosition['side']; qty: number },
    mayAdd: boolean,
  ): NonNullable<RiskContext['position']> {
    const p: NonNullable<RiskContext['position']> = { side: pos.side, qty: pos.qty, entryPrice: book.entryPrice };
    if (book.stopLoss !== undefined) p.stopLoss = book.stopLoss;
    // Only an add reads its history (a journal read): exits, and every intent with pyramiding off, don't.
    if (mayAdd && this.risk.limits.pyramidMaxAdds > 0) p.adds = this.tradeAdds.of(book);
    return p;
  }

  protected bracketFor(signal: Signal, side: Side): Bracket {
    const lim = this.risk.limits;
    const sign = side === 'buy' ? 1 : -1;
    const b: Bracket = {};
    const sl = signal.stopLoss ?? (lim.stopLossPct != null ? signal.price * (1 - sign * lim.stopLossPct) : undefined);
    const tp = signal.takeProfit ?? (lim.takeProfitPct != null ? signal.price * (1 + sign * lim.takeProfitPct) : undefined);
    if (sl !== undefined) b.stopLoss = sl;
    if (tp !== undefined) b.takeProfit = tp;
    return b;
  }

  protected enter(s: SymbolState, signal: Signal, side: Side): void {
    const bracket = this.bracketFor(signal, side);
    const sig: Signal =
      bracket.stopLoss !== undefined && signal.stopLoss === undefined ? { ...signal, stopLoss: bracket.stopLoss } : signal;
    const request: OrderRequest = { symbol: s.symbol, side, type: 'market', tif: 'GTC', reduceOnly: false };
    if (this.opts.marketType === 'perp') request.leverage = this.opts.leverage;
    const intent: RiskIntent = { signal: sig, request, reducing: false };
    const decision = this.risk.evaluate(intent, this.riskContext(s, signal.price));
    this.decide(s, sig, decision, 'entry', bracket, undefined);
  }

  protected exit(s: SymbolState, signal: Signal, pos: BookPosition, purpose: OrderPurpose): void {
    const part = scaleOut(signal, pos, s.market);
    if (typeof part === 'string') {
      this.journal.recordDecision(signal, { action: 'reject', rule: 'bad_input', reason: `rejected: ${part}` }, undefined);
      return;
    }
    const request = closeRequest(pos);
    request.qty = part;
    this.decide(s, signal, this.exitVerdict(s, signal, pos, request), purpose, {}, part);
  }

  /**
   * An exit's verdict, sized from the journal's position net of the exits already working (never
   * from the venue's balance): refused when they cover it all. `ignoring`: exits being cancelled.
   */
  protected exitVerdict(
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
  protected decide(
    s: SymbolState,
    signal: Signal,
    decision: RiskDecision,
    purpose: OrderPurpose,
    bracket: Bracket,
    requestedQty: number | undefined,
  ): void {
    const decisionId = this.journal.recordDecision(signal, decision, requestedQty);
    if (decision.stopLoss !== undefined) bracket = { ...bracket, stopLoss: decision.stopLoss }; // an add: the whole position's stop
    if (decision.action === 'reject' || decision.request === undefined) {
      this.log.debug({ symbol: s.symbol, rule: decision.rule, reason: decision.reason }, 'risk rejected');
      return;
    }
    const notional = (decision.request.qty ?? 0) * signal.price + (decision.request.quoteQty ?? 0);
    if (this.approvals !== undefined && this.approvals.required({ notional })) {
      this.journal.updateDecision(decisionId, { approval: 'pending' });
      s.working++; // a pending proposal blocks further entries like a working order
      const market = { priceStep: s.market.priceStep, qtyStep: s.market.qtyStep };
      const p: Proposal = { decisionId, signal, request: decision.request, decision, purpose, notional, bracket, market };
      const trade = this.portfolio.positions.get(s.symbol);
      // An exit, or an add (same side as the open trade): the prompt names the trade.
      if (trade && (decision.request.reduceOnly || (trade.side === 'long') === (decision.request.side === 'buy'))) p.trade = tradeId(trade);
      this.approvals.propose(p);
      return;
    }
    if (purpose !== 'entry' || this.splitEntry(signal, decision.request, notional, decisionId, bracket) === undefined)
      this.submit(decision.request, purpose, decisionId, bracket);
    if (purpose === 'entry') this.risk.recordEntry(this.clock.now());
  }

  /** Large strategy entries go to the splitter when one is set: the parent's id, or undefined (send it whole). */
  protected splitEntry(signal: Signal, request: OrderRequest, notional: number, decisionId: number, bracket: Bracket): string | undefined {
    if (this.splitter === undefined) return undefined;
    const parent = this.splitter.split({ signal, request, notional, decisionId, bracket });
    if (parent !== undefined) this.journal.updateDecision(decisionId, { clientOrderId: parent });
    return parent;
  }

  /** Write the intent, then hand the order to the venue. The journal has it before the venue does. */
  submit(
    request: OrderRequest,
    purpose: OrderPurpose,
    decisionId?: number,
    bracket: Bracket = {},
    clientOrderId?: string,
    replaces?: ReadonlySet<string>,
  ): Order {
    const order = this.record(request, purpose, decisionId, bracket, clientOrderId);
    // An exit must not race the position's own stop-loss/take-profit (those standAside names), nor the
    // resting exits it `replaces`: on spot they hold the coins it would sell. Cancel them first; the exit
    // waits (journaled as `new`) until they are gone.
    const guards = request.reduceOnly && !PROTECTIVE.has(purpose) ? this.exitGuards(order, replaces) : [];
    if (guards.length > 0) {
      this.held.hold(order, replaces);
      for (const g of guards) this.cancel(g, `making way for exit ${order.clientOrderId}`);
      return order;
    }
    this.send(order);
    return order;
  }

  /** Journal an order intent (status `new`); nothing is sent. */
  protected record(
    request: OrderRequest,
    purpose: OrderPurpose,
    decisionId?: number,
    bracket: Bracket = {},
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

  protected send(order: Order): void {
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

  /** The working exits of `symbol` on `side` that rest at the venue (not in flight, not held back). */
  restingExits(symbol: string, side: Side): Order[] {
    const out: Order[] = [];
    for (const o of this.liveOrders.values()) if (o.symbol === symbol && o.side === side && this.isResting(o)) out.push(o);
    return out;
  }

  /** A working exit that rests at the venue: not in flight, not held back. */
  private isResting(o: Order): boolean {
    return isExit(o) && !inFlight(o) && !this.held.has(o);
  }

  /** What an exit waits for: its position's protective orders, and the resting exits it replaces. */
  private exitGuards(exit: Order, replaces = this.held.replaces(exit)): Order[] {
    const out: Order[] = [];
    const aside = standAside(exit, this.marketType);
    for (const o of this.liveOrders.values())
      if (o.symbol === exit.symbol && (aside.has(o.purpose) || replaces?.has(o.clientOrderId) === true)) out.push(o);
    return out;
  }

  /** Held exits go out once what they wait for is gone (or are dropped with their position). */
  protected releaseHeld(symbol: string): void {
    if (this.held.size === 0) return;
    const ready = this.held.releaseReady(symbol, (o) => this.exitGuards(o).length === 0);
    if (ready.length === 0) return;
    this.protection.coverRest(symbol, ready); // what the exits leave stays protected meanwhile
    for (const o of ready) {
      const pos = this.portfolio.positions.get(symbol);
      const closing = reduces(pos, o.side);
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
    this.protection.ensure(symbol); // perps: a take-profit for what resting exits leave (standAside)
  }

  protected countWorking(o: Order, d: number): void {
    if (PROTECTIVE.has(o.purpose)) return;
    const s = this.symbols.get(o.symbol);
    if (s) s.working = Math.max(0, s.working + d);
  }

  /** Cancel a working order; `why` is what its journal row will say once the venue confirms (else the venue's words). */
  cancel(order: Order, why?: string): void {
    if (this.protection.dropUnsent(order, 'cancelled before it was sent')) return;
    if (this.dropHeld(order, why)) return;
    this.cancelAtVenue(order, why);
  }

  /** An exit held back until what it must not race is gone: journaled, never sent (a cancel needs no venue). */
  isHeld(order: Order): boolean {
    return this.held.has(order);
  }

  private dropHeld(order: Order, why: string | undefined): boolean {
    if (!this.held.release(order)) return false;
    const reason = `cancelled before it was sent${why !== undefined ? ` (${why})` : ''}`;
    this.onOrderUpdate({ clientOrderId: order.clientOrderId, status: 'cancelled', ts: this.clock.now(), reason });
    return true;
  }

  /**
   * Why the engine asked the venue to cancel an order, until the venue answers: the order row then says
   * "its position closed (sk-00001c)" rather than the venue's "cancelled on request". Journaled too
   * (an order event, before the request leaves), so an answer heard after a restart says it as well.
   */
  protected readonly cancelReasons = new Map<string, string>();

  protected cancelAtVenue(order: Order, why: string | undefined): void {
    if (why !== undefined) {
      this.cancelReasons.set(order.clientOrderId, why);
      this.journal.noteCancelAsked(order, why, this.clock.now());
    }
    this.exchange.cancel(order);
  }

  protected raise(a: AlertInput): void {
    this.candleAlerts.raise(a, this.inCandle);
  }

  protected strategyName(symbol: string): string | undefined {
    return this.symbols.get(symbol)?.strategy.name;
  }

  /** Every open position gets the protection it was promised (at start, after reconciliation). */
  protectPositions(): void {
    this.protection.ensureAll([...this.portfolio.positions.keys()]);
  }

  /**
   * A position is gone: cancel what guarded it, and the resting exits left with nothing to reduce (on
   * perps its stop can close it under a trader's limit: standAside). `except`: the order that closed it.
   */
  protected clearClosed(symbol: string, except: string): void {
    for (const o of this.liveOrders.values()) {
      if (o.symbol !== symbol || o.clientOrderId === except) continue;
      if (PROTECTIVE.has(o.purpose) || this.isResting(o))
        this.cancel(o, except ? `its position closed (${except})` : 'its position closed (as the venue reports)');
    }
  }

  protected onRiskEvent(ev: RiskEvent): void {
    this.log.warn({ risk: ev }, `${ev.title}: ${ev.message}`);
    this.raise({
      type: ev.kind === 'breaker' ? 'circuit_breaker' : 'risk_halt',
      severity: ev.kind === 'halt_lifted' ? 'info' : 'critical',
      title: ev.title,
      message: ev.message,
    });
  }

  // ---- defined by Engine (venue events, controls, views), used by the parts above -------------

  abstract onOrderUpdate(u: OrderUpdate): void;
  abstract onAlert(alert: AlertInput): void;
  abstract closePosition(
    symbol: string,
    by: string,
    purpose?: OrderPurpose,
    ignoring?: ReadonlySet<string>,
    qty?: number,
    replace?: boolean,
  ): Order | null;
  abstract closeAtStop(symbol: string, why: string): Order | null;
  abstract closeAll(symbol: string, by: string, purpose?: OrderPurpose): { order: Order | null; replaced: Order[] };
  abstract setProtection(symbol: string, promise: Bracket): void;
  abstract flatten(by: string): { cancelled: number; closing: string[] };
  abstract lastPrice(symbol: string): number;
  abstract marketInfo(symbol: string): MarketInfo | undefined;
}

const NO_DEFAULT_PROTECTION = { stopLossPct: null, takeProfitPct: null } as const;

/** A market order that closes the whole position. */
export const closeRequest = (pos: BookPosition): OrderRequest => ({
  symbol: pos.symbol,
  side: pos.side === 'long' ? 'sell' : 'buy',
  type: 'market',
  tif: 'GTC',
  reduceOnly: true,
  qty: pos.qty,
});
