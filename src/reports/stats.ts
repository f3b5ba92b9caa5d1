// PnL statistics from the journal: equity snapshots, closed trades and fills, per period.
//
// Definitions (the tests and the README use the same ones):
// - equity at t = the last equity snapshot at or before t;
// - a period's PnL = equity at its end − equity at its start (the first snapshot inside the period
//   when there is none before it); when the period has no snapshot at all, the realized net PnL of
//   the trades closed in it;
// - realized = Σ (realized PnL − fees) of positions closed in [start, end);
// - fees = Σ fees of the fills in [start, end);
// - funding = Σ funding payments (perps; received positive) in [start, end), none when there is none;
// - max drawdown = the largest peak-to-trough fall of the equity curve in the period, as a fraction
//   of the peak (the start equity counts as the first peak).
import type { EquityRow, FillRow, FundingRow, Journal, PositionRow } from '../journal/journal.ts';
import { unitSchedule, type Period } from './periods.ts';

/** The engine's current equity: the end of a running period. */
export interface LivePoint {
  now: number;
  equity: number;
  unrealized: number;
}

export interface PeriodStats extends Period {
  startEquity: number | null;
  endEquity: number | null;
  pnl: number;
  /** Where `pnl` comes from: equity snapshots, closed trades (no snapshots), or nothing at all. */
  pnlSource: 'equity' | 'realized' | 'none';
  /** pnl / start equity, when the start equity is known. */
  pnlPct: number | null;
  realized: number;
  unrealized: number | null;
  fees: number;
  /** Funding paid (negative) or received in the period; null when it has no funding payment (spot). */
  funding: number | null;
  /** Positions closed in the period, oldest first. */
  trades: PositionRow[];
  wins: number;
  maxDrawdown: number;
  /** Equity curve: [ts, equity], starting at the period start when the start equity is known. */
  points: Array<[number, number]>;
}

export const netPnl = (p: PositionRow): number => p.realizedPnl - p.fees;

/** Σ of the funding payments with start ≤ ts < until (on `symbol` when given); null when there is none. */
function fundingIn(
  rows: ReadonlyArray<Pick<FundingRow, 'ts' | 'amount' | 'symbol'>>,
  start: number,
  until: number,
  symbol?: string,
): number | null {
  let sum = 0;
  let n = 0;
  for (const r of rows)
    if (r.ts >= start && r.ts < until && (symbol === undefined || r.symbol === symbol)) {
      sum += r.amount;
      n++;
    }
  return n ? sum : null;
}

/**
 * Funding each closed trade paid or received while it was open (its symbol, from its open to its close:
 * one position per symbol at a time), by position id; trades without any are left out.
 */
export function tradesFunding(journal: Journal, trades: readonly PositionRow[]): Map<number, number> {
  const out = new Map<number, number>();
  const closed = trades.filter((t) => t.closedAt != null);
  if (!closed.length) return out;
  const since = Math.min(...closed.map((t) => t.openedAt));
  const until = Math.max(...closed.map((t) => t.closedAt!)) + 1;
  const rows = journal.fundingPayments(since, until);
  for (const t of rows.length ? closed : []) {
    const f = fundingIn(rows, t.openedAt, t.closedAt! + 1, t.symbol);
    if (f !== null) out.set(t.id, f);
  }
  return out;
}

/** The funding of [start, until) (/pnl), as the period reports count it; null when there is none. */
export const periodFunding = (journal: Journal, start: number, until = Number.MAX_SAFE_INTEGER): number | null =>
  fundingIn(journal.fundingPayments(start, until), start, until);

/** Index of the last element with ts ≤ t (binary search), or -1. */
function lastAtOrBefore<T extends { ts: number }>(rows: readonly T[], t: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.ts <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

export function maxDrawdown(points: ReadonlyArray<readonly [number, number]>): number {
  let peak = -Infinity;
  let dd = 0;
  for (const [, eq] of points) {
    if (eq > peak) peak = eq;
    if (peak > 0) dd = Math.max(dd, (peak - eq) / peak);
  }
  return dd;
}

/** The journal's data for a time range, loaded once; per-period stats are computed in memory. */
export class History {
  private readonly snaps: EquityRow[];
  private readonly anchor: EquityRow | undefined;
  private readonly closed: PositionRow[];
  private readonly fillRows: FillRow[];
  private readonly fundingRows: FundingRow[];

  constructor(
    journal: Journal,
    readonly from: number,
    readonly to: number,
    private readonly live?: LivePoint,
  ) {
    this.anchor = journal.equityBefore(from + 1);
    this.snaps = journal.equitySeries(from, to + 1);
    this.closed = journal
      .closedPositions({ since: from })
      .filter((p) => p.closedAt != null && p.closedAt <= to)
      .reverse();
    this.fillRows = journal.fills({ since: from, until: to + 1 });
    this.fundingRows = journal.fundingPayments(from, to + 1);
  }

  /** Last snapshot at or before t (t within [from, to]). */
  equityAt(t: number): EquityRow | undefined {
    const i = lastAtOrBefore(this.snaps, t);
    return i >= 0 ? this.snaps[i] : this.anchor && this.anchor.ts <= t ? this.anchor : undefined;
  }

  period(p: Period): PeriodStats {
    const startRow = this.equityAt(p.start);
    const inside = this.snaps.filter((s) => s.ts >= p.start && s.ts <= p.end);
    // The engine's equity ends a period that is still running; an ended period ends at its last
    // snapshot, which is also where the next period starts (consecutive reports chain).
    const live =
      this.live && this.live.now > p.start && (this.live.now < p.end || (p.partial && this.live.now === p.end)) ? this.live : undefined;
    const points: Array<[number, number]> = [];
    if (startRow && startRow.ts < p.start) points.push([p.start, startRow.equity]);
    for (const s of inside) points.push([s.ts, s.equity]);
    if (live && (points.length === 0 || points[points.length - 1]![0] < live.now)) points.push([live.now, live.equity]);
    const startEquity = startRow?.equity ?? inside[0]?.equity ?? null;
    const endEquity = inside.length || live ? points[points.length - 1]![1] : null;

    // A running period ends "now": include what happened at exactly now.
    const until = p.partial ? p.end + 1 : p.end;
    const trades = this.closed.filter((t) => t.closedAt! >= p.start && t.closedAt! < until);
    const realized = trades.reduce((a, t) => a + netPnl(t), 0);
    const fees = this.fillRows.filter((f) => f.ts >= p.start && f.ts < until).reduce((a, f) => a + f.fee, 0);
    const wins = trades.filter((t) => netPnl(t) > 0).length;

    let pnl = 0;
    let pnlSource: PeriodStats['pnlSource'] = 'none';
    if (startEquity !== null && endEquity !== null) {
      pnl = endEquity - startEquity;
      pnlSource = 'equity';
    } else if (trades.length) {
      pnl = realized;
      pnlSource = 'realized';
    }
    const unrealized = live ? live.unrealized : inside.length ? inside[inside.length - 1]!.unrealizedPnl : null;
    return {
      ...p,
      startEquity,
      endEquity,
      pnl,
      pnlSource,
      pnlPct: startEquity && pnlSource === 'equity' ? pnl / startEquity : null,
      realized,
      unrealized,
      fees,
      funding: fundingIn(this.fundingRows, p.start, until),
      trades,
      wins,
      maxDrawdown: maxDrawdown(points),
      points,
    };
  }

  /** Is there anything at all (snapshots or trades) at or before t? */
  hasDataUntil(t: number): boolean {
    return (
      this.anchor !== undefined ||
      (this.snaps[0] !== undefined && this.snaps[0].ts <= t) ||
      (this.closed[0] !== undefined && this.closed[0].closedAt! <= t)
    );
  }
}

/** A period cut at the calendar day boundaries (in the timezone) inside it. */
export function splitDays(p: Period, timezone: string): Period[] {
  const days = unitSchedule('day', timezone);
  const out: Period[] = [];
  let start = p.start;
  while (start < p.end) {
    const next = days.after(start);
    const end = next === null || next >= p.end ? p.end : next;
    out.push(end === p.end && p.partial ? { start, end, partial: true } : { start, end });
    start = end;
  }
  return out;
}
