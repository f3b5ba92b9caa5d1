import type { AlertSink } from '../core/alerts.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { errorMessage } from '../core/errors.ts';
import { isTerminal } from '../core/order-state.ts';
import type { Order } from '../core/types.ts';
import type { ExchangeClient, VenueOrder } from '../exchange/types.ts';
import type { Journal } from '../journal/journal.ts';
import type { Engine } from './engine.ts';

export interface ReconcileReport {
  status: 'ok' | 'fixed' | 'halted' | 'failed';
  summary: string;
  missingFills: number;
  resolvedOrders: string[];
  neverSent: string[];
  external: VenueOrder[];
  problems: string[];
}

export interface ReconcilerOptions {
  /** Orders younger than this that the venue doesn't know yet may still be in flight. */
  inFlightGraceMs?: number;
  /** Look this far before the last journaled fill when asking the venue for fills. */
  fillLookbackMs?: number;
  /** Relative tolerance when comparing positions and balances. */
  qtyTolerance?: number;
}

/**
 * Compares the journal with the venue and makes the journal match what really happened:
 * missing fills are recorded, orders with an unknown outcome are resolved, orders that never
 * left the process are closed out, and anything it can't explain halts new entries with an alert.
 */
export class Reconciler {
  private running: Promise<ReconcileReport> | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly journal: Journal,
    private readonly exchange: ExchangeClient,
    private readonly alerts: AlertSink,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly opts: ReconcilerOptions = {},
  ) {}

  /** One run at a time; concurrent callers share it. */
  run(trigger: string): Promise<ReconcileReport> {
    this.running ??= this.doRun(trigger).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doRun(trigger: string): Promise<ReconcileReport> {
    const r: ReconcileReport = { status: 'ok', summary: '', missingFills: 0, resolvedOrders: [], neverSent: [], external: [], problems: [] };
    try {
      await this.fills(r);
      await this.orders(r);
      await this.positions(r);
    } catch (e) {
      r.status = 'failed';
      r.problems.push(`could not reach the venue: ${errorMessage(e)}`);
    }
    if (r.status !== 'failed') {
      if (r.problems.length) r.status = 'halted';
      else if (r.missingFills || r.resolvedOrders.length || r.neverSent.length) r.status = 'fixed';
    }
    r.summary = this.summarize(r);
    const now = this.clock.now();
    this.journal.recordReconciliation({
      ts: now,
      trigger,
      status: r.status,
      summary: r.summary,
      details: { missingFills: r.missingFills, resolvedOrders: r.resolvedOrders, neverSent: r.neverSent, external: r.external, problems: r.problems },
    });
    if (r.status === 'halted') {
      this.engine.risk.tripBreaker(`reconciliation found differences it cannot explain: ${r.problems.join('; ')}`, now);
      this.alerts.raise({
        type: 'reconciliation',
        severity: 'critical',
        title: 'Reconciliation: trading halted',
        message: `${r.summary}. New entries are blocked until you check the account and /resume. Details are in the journal (reconciliations).`,
        data: { problems: r.problems },
      });
    } else if (r.status === 'failed') {
      this.alerts.raise({ type: 'reconciliation', severity: 'warning', title: 'Reconciliation failed', message: `${r.summary}. Will retry.` });
    } else if (r.status === 'fixed' || r.external.length) {
      this.alerts.raise({ type: 'reconciliation', severity: r.external.length ? 'warning' : 'info', title: 'Reconciliation', message: r.summary });
    }
    this.log.info({ trigger, status: r.status, summary: r.summary }, 'reconciliation');
    return r;
  }

  private summarize(r: ReconcileReport): string {
    const parts: string[] = [];
    if (r.missingFills) parts.push(`${r.missingFills} missing fill(s) recorded`);
    if (r.resolvedOrders.length) parts.push(`${r.resolvedOrders.length} order(s) updated from the venue`);
    if (r.neverSent.length) parts.push(`${r.neverSent.length} order(s) never reached the venue (closed out)`);
    if (r.external.length) parts.push(`${r.external.length} order(s) on the venue not placed by this bot (left alone)`);
    parts.push(...r.problems);
    return parts.length ? parts.join('; ') : 'journal matches the venue';
  }

  /** Fills the venue has that the journal doesn't. Recording is idempotent (trade id). */
  private async fills(r: ReconcileReport): Promise<void> {
    const last = this.journal.lastFillTs(this.exchange.name);
    const since = last === undefined ? 0 : last - (this.opts.fillLookbackMs ?? 3_600_000);
    const before = this.journal.cashFlows().count;
    for (const symbol of this.engine.symbolList()) {
      const fills = await this.exchange.fetchFills(symbol, since);
      for (const f of fills) this.engine.onFill(f);
    }
    r.missingFills = this.journal.cashFlows().count - before;
  }

  private async orders(r: ReconcileReport): Promise<void> {
    const now = this.clock.now();
    const grace = this.opts.inFlightGraceMs ?? 0;
    const ours = new Set<string>();
    for (const o of [...this.engine.liveOrders.values()]) {
      ours.add(o.clientOrderId);
      const v = await this.exchange.fetchOrder(o.clientOrderId, o.symbol);
      if (v) {
        if (v.status !== o.status || v.exchangeOrderId !== o.exchangeOrderId) {
          this.engine.onOrderUpdate({ clientOrderId: o.clientOrderId, exchangeOrderId: v.exchangeOrderId, status: v.status, filledQty: v.filledQty, ts: now, reason: 'reconciled with the venue' });
          r.resolvedOrders.push(o.clientOrderId);
        }
        continue;
      }
      if (now - o.updatedAt < grace) continue;
      if (o.status === 'new' || o.status === 'submitted' || o.status === 'unknown') {
        // The venue never saw it: the process stopped before the request got out.
        this.engine.onOrderUpdate({ clientOrderId: o.clientOrderId, status: 'rejected', ts: now, reason: 'never reached the venue (the bot stopped before sending it)' });
        r.neverSent.push(o.clientOrderId);
      } else {
        r.problems.push(`order ${o.clientOrderId} is ${o.status} in the journal but unknown to the venue`);
      }
    }
    const open = await this.exchange.fetchOpenOrders();
    for (const v of open) {
      if (ours.has(v.clientOrderId)) continue;
      const j: Order | undefined = this.journal.getOrder(v.clientOrderId);
      if (j && !isTerminal(j.status)) continue;
      if (j && isTerminal(j.status)) {
        this.engine.onOrderUpdate({ clientOrderId: v.clientOrderId, exchangeOrderId: v.exchangeOrderId, status: v.status, ts: now });
        r.problems.push(`order ${v.clientOrderId} is ${j.status} in the journal but ${v.status} on the venue`);
        continue;
      }
      r.external.push(v);
    }
  }

  private async positions(r: ReconcileReport): Promise<void> {
    const tol = this.opts.qtyTolerance ?? 1e-6;
    const venue = await this.exchange.fetchPositions();
    const book = this.engine.portfolio.positions;
    const seen = new Set<string>();
    for (const vp of venue) {
      seen.add(vp.symbol);
      if (!this.engine.symbolList().includes(vp.symbol)) continue;
      const bp = book.get(vp.symbol);
      if (!bp) {
        r.problems.push(`venue holds a ${vp.side} ${vp.qty} ${vp.symbol} position the journal does not`);
        continue;
      }
      if (bp.side !== vp.side || Math.abs(bp.qty - vp.qty) > tol * Math.max(1, vp.qty)) {
        r.problems.push(`${vp.symbol}: journal ${bp.side} ${bp.qty}, venue ${vp.side} ${vp.qty}`);
      }
    }
    for (const [symbol, bp] of book) {
      if (!seen.has(symbol)) r.problems.push(`journal holds a ${bp.side} ${bp.qty} ${symbol} position the venue does not`);
    }
  }
}
