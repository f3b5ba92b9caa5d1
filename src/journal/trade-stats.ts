// /performance's breakdowns of the trades closed in a window, by exit reason and by symbol, summed by
// SQLite from the closed-positions index range (as /pnl's totals): a few rows whatever the window holds.
import type Database from 'better-sqlite3';
import type { ExitReason } from '../core/types.ts';

/** Trades of one exit reason or symbol: how many, how many made money after fees, net PnL, mean time held. */
export interface TradeGroup<K extends string = string> {
  key: K;
  trades: number;
  wins: number;
  net: number;
  heldMs: number;
}

export interface TradeStats {
  /** `null`: trades closed before the exit reason was recorded. */
  byReason: Array<TradeGroup<ExitReason | 'null'>>;
  bySymbol: TradeGroup[];
}

export type TradeStatsQuery = (since: number) => TradeStats;

export function tradeStatsQuery(db: Database.Database): TradeStatsQuery {
  // Grouped rows come back in key order; the reply sorts the few groups (an ORDER BY on the aggregate
  // would be a sort per call for nothing).
  const grouped = (column: 'exit_reason' | 'symbol') =>
    db.prepare<[number], TradeGroup>(
      `select coalesce(${column}, 'null') as key, count(*) as trades, coalesce(sum(realized_pnl - fees > 0), 0) as wins,
              coalesce(sum(realized_pnl - fees), 0) as net, coalesce(avg(closed_at - opened_at), 0) as heldMs
       from positions where status = 'closed' and closed_at >= ? group by ${column}`,
    );
  const byReason = grouped('exit_reason');
  const bySymbol = grouped('symbol');
  return (since) => ({ byReason: byReason.all(since) as TradeStats['byReason'], bySymbol: bySymbol.all(since) });
}
