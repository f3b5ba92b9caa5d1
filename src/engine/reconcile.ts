import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { isTerminal, NEVER_REACHED, TRADER_CANCEL } from '../core/order-state.ts';
import type { Balance, Order } from '../core/types.ts';
import type { ExchangeClient, VenueOrder, VenuePosition } from '../exchange/types.ts';
import type { Journal } from '../journal/journal.ts';
import { STATE, type ReconcileBaseline as Baseline } from '../journal/state-keys.ts';
import type { Engine } from './engine.ts';
import { quoteOf } from '../core/symbols.ts';
import { counted } from '../core/format.ts';

export interface ReconcileReport {
  trigger: string;
  status: 'ok' | 'fixed' | 'halted' | 'failed';
  summary: string;
  missingFills: number;
  /** Funding payments (perps) the venue settled that the journal had not booked yet. */
  missingFunding: number;
  resolvedOrders: string[];
  neverSent: string[];
  /** Orders the trader cancelled before a restart that the venue still held: cancelled again. */
  resumedCancels: string[];
  external: VenueOrder[];
  adopted: string[];
  problems: string[];
}

export interface ReconcilerOptions {
  /** Orders younger than this that the venue doesn't know yet may still be in flight. */
  inFlightGraceMs?: number;
  /** Look this far before the last journaled fill when asking the venue for fills. */
  fillLookbackMs?: number;
  /** Take orders, positions and balances the bot did not create as its own (else: report only). */
  adoptExternal?: boolean;
}

/** How far back a reconciliation asks for funding payments: one query window of the venues (Bybit: 7 days). */
const FUNDING_CATCH_UP_MS = 7 * 86_400_000;

/** One difference between the journal and a read of the venue. */
interface Difference {
  /** What differs (the same key in two reads is the same difference). */
  key: string;
  problem: string;
  /** Take the venue's figure; returns what was adopted, in words. */
  adopt(): string;
}

/**
 * Compares the journal with the venue and makes the journal match what really happened: missing
 * fills are recorded, orders with an unknown outcome are resolved, orders that never left the
 * process are closed out, orders the bot did not place are reported (or adopted), and positions and
 * balances are compared. A difference it cannot explain halts new entries (the circuit breaker) with
 * an alert that says what to check; `accept` adopts the venue's figures once a human has checked.
 */
export class Reconciler {
  private running: { done: Promise<ReconcileReport>; accept: boolean } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly journal: Journal,
    private readonly exchange: ExchangeClient,
    private readonly alerts: AlertSink,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly opts: ReconcilerOptions = {},
  ) {}

  /**
   * One run at a time; concurrent callers share it. `accept` adopts the venue's balances and
   * positions: an accept is never answered by a run that did not accept (it runs right after it).
   */
  run(trigger: string, mode: { accept?: boolean } = {}): Promise<ReconcileReport> {
    const accept = mode.accept ?? false;
    const cur = this.running;
    if (cur && (cur.accept || !accept)) return cur.done;
    const after = cur ? cur.done.then(noop, noop) : Promise.resolve();
    const entry = { done: after.then(() => this.doRun(trigger, accept)), accept };
    this.running = entry;
    const clear = (): void => {
      if (this.running === entry) this.running = null;
    };
    entry.done.then(clear, clear);
    return entry.done;
  }

  /** Reconcile every `everyMs` too (a safety net beside start-up and reconnects). */
  startTimer(everyMs: number): void {
    this.timer = setInterval(() => {
      void this.run('timer').catch((e: unknown) => this.log.error({ err: e }, 'reconciliation failed'));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.recheck) clearTimeout(this.recheck);
  }

  /**
   * An order too young to judge (it may still be in flight) is judged again once its grace has passed:
   * otherwise an intent journaled just before a crash (a replacement stop) would wait for the next
   * timer run, or forever, unsent, and its position unprotected.
   */
  private recheckIn(ms: number): void {
    if (this.recheck) return;
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      void this.run('in-flight recheck').catch((e: unknown) => this.log.error({ err: e }, 'reconciliation failed'));
    }, ms + 250);
    this.recheck.unref();
  }

  private async doRun(trigger: string, accept: boolean): Promise<ReconcileReport> {
    const r: ReconcileReport = {
      trigger,
      status: 'ok',
      summary: '',
      missingFills: 0,
      missingFunding: 0,
      resolvedOrders: [],
      neverSent: [],
      resumedCancels: [],
      external: [],
      adopted: [],
      problems: [],
    };
    const adopt = accept || (this.opts.adoptExternal ?? false);
    try {
      await this.fills(r);
      await this.orders(r, adopt);
      await this.holdings(r, adopt);
    } catch (e) {
      r.status = 'failed';
      r.problems.push(`could not reach the venue: ${errorMessage(e)}`);
    }
    if (r.status !== 'failed') {
      if (r.problems.length) r.status = 'halted';
      else if (
        r.missingFills ||
        r.missingFunding ||
        r.resolvedOrders.length ||
        r.neverSent.length ||
        r.resumedCancels.length ||
        r.adopted.length
      )
        r.status = 'fixed';
    }
    r.summary = this.summarize(r);
    const now = this.clock.now();
    this.journal.recordReconciliation({
      ts: now,
      trigger,
      status: r.status,
      summary: r.summary,
      details: {
        missingFills: r.missingFills,
        missingFunding: r.missingFunding,
        resolvedOrders: r.resolvedOrders,
        neverSent: r.neverSent,
        resumedCancels: r.resumedCancels,
        external: r.external,
        adopted: r.adopted,
        problems: r.problems,
      },
    });
    if (r.status === 'halted') {
      this.engine.risk.tripBreaker(`reconciliation: ${r.problems.join('; ')}`, now);
      this.alerts.raise({
        type: 'reconciliation',
        severity: 'critical',
        title: 'Reconciliation: trading halted',
        message:
          `${r.summary}. New entries are blocked (exits still run). Check the account on ${this.exchange.name}; ` +
          `if the venue is right, an admin sends /reconcile accept to adopt its figures, then /resume.`,
        data: { problems: r.problems },
      });
    } else if (r.status === 'failed') {
      this.alerts.raise({
        type: 'reconciliation',
        severity: 'warning',
        title: 'Reconciliation failed',
        message: `${r.summary}. It will run again.`,
      });
    } else if (r.status === 'fixed' || r.external.length) {
      this.alerts.raise({
        type: 'reconciliation',
        severity: r.external.length ? 'warning' : 'info',
        title: 'Reconciliation',
        message: r.summary,
      });
    }
    this.log.info({ trigger, status: r.status, summary: r.summary }, 'reconciliation');
    return r;
  }

  private summarize(r: ReconcileReport): string {
    const parts: string[] = [];
    if (r.missingFills) parts.push(`${counted(r.missingFills, 'missing fill')} recorded`);
    if (r.missingFunding) parts.push(`${counted(r.missingFunding, 'funding payment')} recorded`);
    if (r.resolvedOrders.length) parts.push(`${counted(r.resolvedOrders.length, 'order')} updated from the venue`);
    if (r.neverSent.length) parts.push(`${counted(r.neverSent.length, 'order')} never reached the venue (closed out)`);
    if (r.resumedCancels.length)
      parts.push(`cancel of ${r.resumedCancels.join(', ')} asked for before the restart and not carried out by the venue: sent again`);
    if (r.external.length) parts.push(`${counted(r.external.length, 'open order')} on the venue not placed by this bot (left alone)`);
    if (r.adopted.length) parts.push(`adopted: ${r.adopted.join(', ')}`);
    parts.push(...r.problems);
    return parts.length ? parts.join('; ') : 'journal matches the venue';
  }

  /** Fills the venue has that the journal doesn't. Recording is idempotent (trade id). */
  private async fills(r: ReconcileReport): Promise<void> {
    const last = this.journal.lastFillTs(this.exchange.name);
    const lookback = this.opts.fillLookbackMs ?? 3_600_000;
    // No fill yet: nothing before the account's first start can be the bot's.
    const firstStart = STATE.account.read(this.journal)?.createdAt ?? this.clock.now();
    const since = last === undefined ? firstStart - lookback : last - lookback;
    const before = this.journal.cashFlows().count;
    // Orders from before a restart: their fills (and those of the orders their stops became) are theirs.
    this.exchange.follow?.([...this.engine.liveOrders.values()]);
    for (const symbol of this.engine.symbolList()) {
      for (const f of await this.exchange.fetchFills(symbol, since)) this.engine.onFill(f);
    }
    r.missingFills += this.journal.cashFlows().count - before;
    await this.funding(r, firstStart, lookback);
  }

  /**
   * Perps: funding the venue settled that the journal has not booked — while the bot was down, or since
   * the adapter's last poll (it looks once a minute, from its connect) — is booked before the balances
   * are compared, like a missed fill: otherwise every settlement (every 8 h) that lands before the next
   * poll reads as "the venue holds less than the journal expects" and halts. Asked from the last payment
   * journaled, never before the account's first start (earlier payments are not the bot's), and at most
   * FUNDING_CATCH_UP_MS back. Recording is idempotent (payment id).
   */
  private async funding(r: ReconcileReport, firstStart: number, lookback: number): Promise<void> {
    const ex = this.exchange;
    if (ex.marketType !== 'perp' || !ex.fetchFunding) return;
    const last = this.journal.lastFundingTs(ex.name);
    const since = Math.max(firstStart, (last ?? firstStart) - lookback, this.clock.now() - FUNDING_CATCH_UP_MS);
    for (const symbol of this.engine.symbolList()) {
      for (const p of await ex.fetchFunding(symbol, since)) if (p.ts >= firstStart && this.engine.onFunding(p)) r.missingFunding++;
    }
  }

  /** The first pass over the orders (at start-up) re-sends the trader's cancels the venue never carried out. */
  private cancelsResumed = false;

  /**
   * The trader cancelled this order before a restart (journaled before the request left) and the venue
   * still holds it: the request never left, or its answer was lost. Ask again. The engine's own
   * cancels are not repeated: its start-up checks (protection, closed positions) decide afresh.
   */
  private resumeCancel(o: Order, r: ReconcileReport): void {
    const why = this.journal.cancelAsked(o.clientOrderId);
    if (!why?.startsWith(TRADER_CANCEL)) return;
    this.engine.cancel(o, why);
    r.resumedCancels.push(o.clientOrderId);
  }

  /**
   * A trader's order (/buy, /sell, /close, /flatten) the restart found never placed: the trader was told
   * it went out, so they hear it did not, and what stands now. It is not sent again: the market moved.
   */
  private traderOrderLost(o: Order): void {
    if (o.purpose !== 'manual' && o.purpose !== 'flatten') return;
    const pos = this.engine.portfolio.positions.get(o.symbol);
    const closing = o.reduceOnly;
    this.alerts.raise({
      type: 'order_rejected',
      severity: 'warning',
      title: `Your ${o.side} ${o.symbol} was not placed`,
      message:
        `${o.clientOrderId} (${o.side} ${o.symbol}, asked before the restart) never reached the venue: nothing was done. ` +
        (closing && pos
          ? `The ${pos.side} ${o.symbol} position is still open, with its protection; /close ${o.symbol} closes it.`
          : closing
            ? `The ${o.symbol} position is closed anyway.`
            : `/${o.side} again if you still want it.`),
      key: `trader-lost:${o.clientOrderId}`,
      data: { clientOrderId: o.clientOrderId },
    });
  }

  private async orders(r: ReconcileReport, adopt: boolean): Promise<void> {
    const now = this.clock.now();
    const grace = this.opts.inFlightGraceMs ?? 0;
    for (const o of [...this.engine.liveOrders.values()]) {
      const v = await this.exchange.fetchOrder(o.clientOrderId, o.symbol);
      if (v) {
        if (v.status !== o.status || v.exchangeOrderId !== o.exchangeOrderId) {
          this.engine.onOrderUpdate({
            clientOrderId: o.clientOrderId,
            exchangeOrderId: v.exchangeOrderId,
            status: v.status,
            filledQty: v.filledQty,
            ts: now,
            reason: 'reconciled with the venue',
          });
          r.resolvedOrders.push(o.clientOrderId);
        }
        if (!this.cancelsResumed && !isTerminal(o.status)) this.resumeCancel(o, r);
        continue;
      }
      if (now - o.updatedAt < grace) {
        this.recheckIn(grace - (now - o.updatedAt));
        continue;
      }
      if (o.status === 'new' || o.status === 'submitted' || o.status === 'unknown') {
        // The venue never took it: the process stopped before the request got out, or before the venue had it.
        this.engine.onOrderUpdate({
          clientOrderId: o.clientOrderId,
          status: 'rejected',
          ts: now,
          reason: `${NEVER_REACHED} (${o.status === 'new' ? 'the bot stopped before sending it' : 'sent before the restart; the venue has no such order'})`,
        });
        r.neverSent.push(o.clientOrderId);
        this.traderOrderLost(o);
      } else {
        r.problems.push(`order ${o.clientOrderId} is ${o.status} in the journal but unknown to the venue`);
      }
    }
    this.cancelsResumed = true;
    for (const symbol of this.engine.symbolList()) {
      for (const v of await this.exchange.fetchOpenOrders(symbol)) {
        if (this.engine.liveOrders.has(v.clientOrderId)) continue;
        const j = this.journal.getOrder(v.clientOrderId);
        if (j && isTerminal(j.status)) {
          r.problems.push(`order ${v.clientOrderId} is ${j.status} in the journal but ${v.status} on the venue`);
          continue;
        }
        if (j) continue;
        if (adopt) {
          this.engine.adoptOrder(v);
          r.adopted.push(`order ${v.clientOrderId}`);
        } else r.external.push(v);
      }
    }
  }

  /**
   * Positions and balances: the journal's books against the venue's. A difference is acted on (halt,
   * or adopt) only when a second read (after booking any trade made meanwhile) confirms it: one odd
   * answer, or a fill that landed during the run, never halts trading.
   */
  private async holdings(r: ReconcileReport, adopt: boolean): Promise<void> {
    const first = this.compare(await this.readHoldings());
    if (first.diffs.length === 0) return STATE.reconcileBaseline.write(this.journal, first.baseline, this.clock.now());
    await this.fills(r); // trades made while this run was going are booked before the difference is confirmed
    const second = this.compare(await this.readHoldings());
    const confirmed = second.diffs.filter((d) => first.diffs.some((x) => x.key === d.key));
    if (confirmed.length < first.diffs.length)
      this.log.warn(
        { unconfirmed: first.diffs.filter((d) => !confirmed.some((x) => x.key === d.key)).map((d) => d.problem) },
        'a difference with the venue was not confirmed by a second read: ignored',
      );
    for (const d of confirmed) {
      if (adopt) r.adopted.push(d.adopt());
      else r.problems.push(d.problem);
    }
    STATE.reconcileBaseline.write(this.journal, second.baseline, this.clock.now());
  }

  private async readHoldings(): Promise<{ balances: Balance[]; positions: VenuePosition[] }> {
    const balances = await this.exchange.fetchBalances();
    const positions = this.exchange.marketType === 'perp' ? await this.exchange.fetchPositions() : [];
    return { balances, positions };
  }

  /** The differences between one read of the venue and the journal's books, each with how to adopt it. */
  private compare(v: { balances: Balance[]; positions: VenuePosition[] }): { diffs: Difference[]; baseline: Baseline } {
    const diffs: Difference[] = [];
    const { balances } = v;
    const total = (asset: string) => {
      const b = balances.find((x) => x.asset === asset);
      return b ? b.free + b.locked : 0;
    };
    const baseline = this.baseline(balances);
    const symbols = this.engine.symbolList();
    const quote = quoteOf(symbols);

    if (this.exchange.marketType === 'perp') {
      for (const symbol of symbols) {
        const vp = v.positions.find((p) => p.symbol === symbol && p.qty > 0);
        const bp = this.engine.portfolio.positions.get(symbol);
        const vq = vp ? vp.qty * (vp.side === 'long' ? 1 : -1) : 0;
        const bq = bp ? bp.qty * (bp.side === 'long' ? 1 : -1) : 0;
        if (Math.abs(vq - bq) <= this.qtyTol(symbol, Math.abs(vq))) continue;
        diffs.push({
          key: `position:${symbol}`,
          problem: `${symbol}: journal holds ${describe(bq)}, the venue ${describe(vq)}`,
          adopt: () => {
            this.engine.adoptPosition(symbol, vp ?? null);
            return `${symbol} position ${vq}`;
          },
        });
      }
    } else {
      // Spot: the bot's holding is the venue's base balance minus what the account held apart from the bot.
      for (const symbol of symbols) {
        const base = symbol.split('/')[0]!;
        const bp = this.engine.portfolio.positions.get(symbol);
        const expected = (baseline.assets[base] ?? 0) + (bp?.qty ?? 0);
        const actual = total(base);
        if (Math.abs(actual - expected) <= this.qtyTol(symbol, actual)) continue;
        diffs.push({
          key: `asset:${base}`,
          problem: `${base}: the venue holds ${actual}, the journal expects ${expected} (bot ${bp?.qty ?? 0} + other ${baseline.assets[base] ?? 0})`,
          adopt: () => {
            // The bot cannot hold more than the account does: coins missing beyond the others' came out of its holding.
            let own = bp?.qty ?? 0;
            if (bp && actual < own) {
              own = Math.max(0, actual);
              this.engine.adoptPosition(symbol, own > 0 ? { side: 'long', qty: own, entryPrice: bp.entryPrice, leverage: 1 } : null);
            }
            baseline.assets[base] = actual - own;
            return `${base} balance ${actual} (the bot holds ${own}${bp && own !== bp.qty ? `, was ${bp.qty}` : ''})`;
          },
        });
      }
    }

    // The quote wallet: starting cash plus every fill's cash flow and funding payment.
    const expectedCash = this.engine.portfolio.cash + (baseline.assets[quote] ?? 0);
    const actualCash = total(quote);
    const tol = Math.max(0.01, Math.abs(actualCash) * 1e-6);
    if (Math.abs(actualCash - expectedCash) > tol) {
      diffs.push({
        key: `cash:${quote}`,
        problem: `${quote}: the venue holds ${actualCash.toFixed(2)}, the journal expects ${expectedCash.toFixed(2)} (deposit, withdrawal or a trade the journal missed?)`,
        adopt: () => {
          // Read the expectation again: adopting a position above may have moved the journal's cash.
          const change = actualCash - (this.engine.portfolio.cash + (baseline.assets[quote] ?? 0));
          this.engine.adjustCash(change, `reconciliation: ${quote} balance on the venue`);
          return `${quote} balance ${actualCash.toFixed(2)} (change ${change.toFixed(2)})`;
        },
      });
    }
    return { diffs, baseline };
  }

  /** Set at the first reconciliation: whatever the account held apart from the bot's own position then. */
  private baseline(balances: Balance[]): Baseline {
    const saved = STATE.reconcileBaseline.read(this.journal);
    if (saved) return saved;
    const assets: Record<string, number> = {};
    const quote = quoteOf(this.engine.symbolList());
    for (const b of balances) {
      if (b.asset === quote) continue; // the quote wallet is the bot's capital (starting cash)
      const held = this.engine.portfolio.positions.get(`${b.asset}/${quote}`)?.qty ?? 0;
      assets[b.asset] = b.free + b.locked - (this.exchange.marketType === 'spot' ? held : 0);
    }
    return { assets };
  }

  private qtyTol(symbol: string, qty: number): number {
    const step = this.engine.marketInfo(symbol)?.qtyStep ?? 0;
    return Math.max(step / 2, qty * 1e-9, 1e-12);
  }
}

const noop = (): void => undefined;
const describe = (q: number): string => (q === 0 ? 'no position' : `${q > 0 ? 'long' : 'short'} ${Math.abs(q)}`);
