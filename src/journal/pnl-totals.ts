// /pnl's sums over a window, added up by SQLite from index ranges (closed positions by close time,
// fills by time): the reply costs the same whatever the window holds, instead of mapping every row
// of it into objects first.
import type Database from 'better-sqlite3';

export interface PnlTotals {
  /** Positions closed in the window, those that made money after fees, and their net realized PnL. */
  trades: number;
  wins: number;
  realized: number;
  /** Fees of the window's fills. */
  fees: number;
}

export type PnlTotalsQuery = (since: number) => PnlTotals;

export function pnlTotalsQuery(db: Database.Database): PnlTotalsQuery {
  const closed = db.prepare<[number], { trades: number; wins: number; realized: number }>(
    `select count(*) as trades, coalesce(sum(realized_pnl - fees > 0), 0) as wins, coalesce(sum(realized_pnl - fees), 0) as realized
     from positions where status = 'closed' and closed_at >= ?`,
  );
  const fees = db.prepare<[number], { fees: number }>(`select coalesce(sum(fee), 0) as fees from fills where ts >= ?`);
  return (since) => ({ ...closed.get(since)!, fees: fees.get(since)!.fees });
}
