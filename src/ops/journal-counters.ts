// Event counters read from the journal, which already records every fill, risk verdict,
// reconciliation and proposal exactly once: no hooks in the engine, and a fill seen twice by the
// venue is counted once. Append-only tables are read incrementally by id (O(new rows) per scrape);
// counters start at the rows present when the process started, like any process-lifetime counter.
import type Database from 'better-sqlite3';
import type { SkipperMetrics } from './metrics.ts';

interface Cursor {
  last: number;
}

export class JournalCounters {
  private readonly fills: Cursor;
  private readonly decisions: Cursor;
  private readonly reconciliations: Cursor;
  private readonly snapshots: Cursor = { last: 0 };
  private readonly approvalsSeen = new Map<string, number>();
  private realized: number;
  private readonly q;

  constructor(
    private readonly db: Database.Database,
    private readonly m: SkipperMetrics,
  ) {
    const maxId = (table: string) => (db.prepare(`select coalesce(max(id), 0) as n from ${table}`).get() as { n: number }).n;
    this.q = {
      fills: db.prepare(
        'select symbol, side, count(*) as n, sum(fee) as fee, sum(realized_pnl) as pnl, max(id) as last from fills where id > ? group by symbol, side',
      ),
      decisions: db.prepare(
        'select verdict, verdict_rule as rule, count(*) as n, max(id) as last from decisions where id > ? group by verdict, verdict_rule',
      ),
      reconciliations: db.prepare(
        'select trigger, status, count(*) as n, max(id) as last from reconciliations where id > ? group by trigger, status',
      ),
      // The highest equity on record (the drawdown gauge's peak): the snapshots since the last scrape.
      peak: db.prepare('select max(equity) as e, max(id) as last from equity_snapshots where id > ?'),
      // Proposals change status after insertion; the table is small (trades that asked for approval).
      proposals: db.prepare("select status, count(*) as n from proposals where status != 'pending' group by status"),
    };
    this.fills = { last: maxId('fills') };
    this.decisions = { last: maxId('decisions') };
    this.reconciliations = { last: maxId('reconciliations') };
    this.realized = (db.prepare('select coalesce(sum(realized_pnl), 0) as s from fills').get() as { s: number }).s;
    for (const r of this.q.proposals.all() as Array<{ status: string; n: number }>) this.approvalsSeen.set(r.status, r.n);
    this.readPeak();
  }

  /** Peaks between scrapes (a whole replay before the first one) count: the gauge is the journal's, not the scrapes'. */
  private readPeak(): void {
    const r = this.q.peak.get(this.snapshots.last) as { e: number | null; last: number | null };
    if (r.e !== null) this.m.seedPeak(r.e);
    if (r.last !== null) this.snapshots.last = r.last;
  }

  /** Realized PnL of every fill in the journal. */
  get realizedPnl(): number {
    return this.realized;
  }

  /** Count what the journal recorded since the previous call. */
  update(): void {
    this.readPeak();
    for (const r of this.q.fills.all(this.fills.last) as Array<{
      symbol: string;
      side: string;
      n: number;
      fee: number;
      pnl: number;
      last: number;
    }>) {
      this.m.fills.inc({ symbol: r.symbol, side: r.side }, r.n);
      this.m.fees.inc({ symbol: r.symbol }, Math.max(0, r.fee));
      this.realized += r.pnl;
      this.fills.last = Math.max(this.fills.last, r.last);
    }
    for (const r of this.q.decisions.all(this.decisions.last) as Array<{ verdict: string; rule: string; n: number; last: number }>) {
      this.m.verdicts.inc({ verdict: r.verdict, rule: r.rule }, r.n);
      this.decisions.last = Math.max(this.decisions.last, r.last);
    }
    for (const r of this.q.reconciliations.all(this.reconciliations.last) as Array<{
      trigger: string;
      status: string;
      n: number;
      last: number;
    }>) {
      this.m.reconciliations.inc({ trigger: r.trigger, status: r.status }, r.n);
      this.reconciliations.last = Math.max(this.reconciliations.last, r.last);
    }
    for (const r of this.q.proposals.all() as Array<{ status: string; n: number }>) {
      const before = this.approvalsSeen.get(r.status) ?? 0;
      if (r.n > before) this.m.approvals.inc({ outcome: r.status }, r.n - before);
      this.approvalsSeen.set(r.status, r.n);
    }
  }
}
