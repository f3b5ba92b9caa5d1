// What people read and the bot's own records: the audit trail, alerts and their deliveries, trade
// proposals, reconciliations and funding payments.
import { and, asc, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Alert } from '../core/alerts.ts';
import * as s from './schema.ts';
import { TradingJournal } from './trading.ts';
import { pnlTotalsQuery, type PnlTotals, type PnlTotalsQuery } from './pnl-totals.ts';
import { tradeStatsQuery, type TradeStats, type TradeStatsQuery } from './trade-stats.ts';

export type CommandRow = typeof s.commandsAudit.$inferSelect;
export type AlertRow = typeof s.alerts.$inferSelect;
export type AlertDeliveryRow = typeof s.alertDeliveries.$inferSelect;
export type ProposalRow = typeof s.proposals.$inferSelect;
export type FundingRow = typeof s.fundingPayments.$inferSelect;

export interface CommandAudit {
  ts: number;
  transport: string;
  userId: string;
  userName?: string;
  role?: string;
  command: string;
  args?: string;
  outcome: string;
  detail?: string;
}

export class RecordsJournal extends TradingJournal {
  // ---- audit and alerts -------------------------------------------------------------------

  recordCommand(c: CommandAudit): number {
    const r = this.stmts.rawCommand.run(
      c.ts,
      c.transport,
      c.userId,
      c.userName ?? null,
      c.role ?? null,
      c.command,
      c.args ?? null,
      c.outcome,
      c.detail ?? null,
    );
    return Number(r.lastInsertRowid);
  }

  private pnlQuery: PnlTotalsQuery | undefined;
  /** Closed trades, wins, net realized PnL and fees since `since` (/pnl). */
  pnlTotals(since: number): PnlTotals {
    this.flushFills();
    return (this.pnlQuery ??= pnlTotalsQuery(this.sqlite))(since);
  }

  private statsQuery: TradeStatsQuery | undefined;
  /** Trades closed since `since`, by exit reason and by symbol (/performance). */
  tradeStats(since: number): TradeStats {
    return (this.statsQuery ??= tradeStatsQuery(this.sqlite))(since);
  }

  recentCommands(limit: number): CommandRow[] {
    return this.db.select().from(s.commandsAudit).orderBy(desc(s.commandsAudit.id)).limit(limit).all();
  }

  recordAlert(a: Alert, delivery: string, count = 1): number {
    const r = this.stmts.rawAlert.run(
      a.ts,
      a.type,
      a.severity,
      a.title,
      a.message,
      a.data ? JSON.stringify(a.data) : null,
      count,
      delivery,
    );
    return Number(r.lastInsertRowid);
  }

  /** One channel's outcome for an alert. */
  recordAlertDelivery(alertId: number, channel: string, status: string, ts: number, detail?: string): void {
    this.stmts.rawAlertDelivery.run(alertId, channel, status, ts, detail ?? null);
  }

  setAlertDelivery(alertId: number, delivery: string): void {
    this.stmts.rawSetAlertDelivery.run(delivery, alertId);
  }

  alertDeliveries(alertId: number): AlertDeliveryRow[] {
    return this.db.select().from(s.alertDeliveries).where(eq(s.alertDeliveries.alertId, alertId)).orderBy(asc(s.alertDeliveries.id)).all();
  }

  recentAlerts(limit: number): AlertRow[] {
    return this.db.select().from(s.alerts).orderBy(desc(s.alerts.id)).limit(limit).all();
  }

  // ---- proposals (trade confirmations) ----------------------------------------------------

  insertProposal(p: typeof s.proposals.$inferInsert): number {
    return this.db.insert(s.proposals).values(p).returning({ id: s.proposals.id }).get().id;
  }

  getProposal(id: number): ProposalRow | undefined {
    return this.db.select().from(s.proposals).where(eq(s.proposals.id, id)).get();
  }

  pendingProposals(): ProposalRow[] {
    return this.db.select().from(s.proposals).where(eq(s.proposals.status, 'pending')).orderBy(asc(s.proposals.id)).all();
  }

  /** Move a pending proposal to a final status; false if it was no longer pending (first decision wins). */
  decideProposal(id: number, status: Exclude<ProposalRow['status'], 'pending'>, by: string | null, ts: number, detail?: string): boolean {
    const r = this.db
      .update(s.proposals)
      .set({ status, decidedBy: by, decidedAt: ts, detail: detail ?? null })
      .where(and(eq(s.proposals.id, id), eq(s.proposals.status, 'pending')))
      .run();
    return r.changes > 0;
  }

  setProposalDetail(id: number, detail: string): void {
    this.db.update(s.proposals).set({ detail }).where(eq(s.proposals.id, id)).run();
  }

  addProposalMessage(id: number, msg: Record<string, string>): void {
    const p = this.getProposal(id);
    if (!p) return;
    this.db
      .update(s.proposals)
      .set({ messages: [...p.messages, msg] })
      .where(eq(s.proposals.id, id))
      .run();
  }

  // ---- reconciliation & funding -----------------------------------------------------------

  recordReconciliation(r: typeof s.reconciliations.$inferInsert): number {
    return this.db.insert(s.reconciliations).values(r).returning({ id: s.reconciliations.id }).get().id;
  }

  recentReconciliations(limit: number) {
    return this.db.select().from(s.reconciliations).orderBy(desc(s.reconciliations.id)).limit(limit).all();
  }

  recordFunding(p: typeof s.fundingPayments.$inferInsert): boolean {
    return this.db.insert(s.fundingPayments).values(p).onConflictDoNothing().run().changes > 0;
  }

  /** Funding payments with since ≤ ts < until, oldest first (reports and /pnl sum them: src/reports/stats.ts). */
  fundingPayments(since: number, until = Number.MAX_SAFE_INTEGER): FundingRow[] {
    return this.db
      .select()
      .from(s.fundingPayments)
      .where(and(gte(s.fundingPayments.ts, since), lt(s.fundingPayments.ts, until)))
      .orderBy(asc(s.fundingPayments.ts))
      .all();
  }

  /** Time of the latest funding payment journaled for `venue`, undefined when there is none. */
  lastFundingTs(venue: string): number | undefined {
    const r = this.db
      .select({ ts: sql<number | null>`max(${s.fundingPayments.ts})` })
      .from(s.fundingPayments)
      .where(eq(s.fundingPayments.venue, venue))
      .get();
    return r?.ts ?? undefined;
  }
}
