// /performance: the trades closed in a window by exit reason (signal, stop-loss, trailing stop,
// take-profit, max hold, manual…) and by symbol: which exits and which markets make the money.
// /pnl and /performance share the windows below.
import { counted, duration, money, signedMoney, table } from '../chat/format.ts';
import type { Reply } from '../chat/types.ts';
import { clockLabel, DAY_MS, utcDayStart, type ClockKind } from '../core/clock.ts';
import { EXIT_REASONS } from '../core/types.ts';
import type { TradeGroup } from '../journal/trade-stats.ts';
import { journalQuote, type ReportSource } from './build.ts';

export const PERIODS = ['day', 'week', 'month', 'all'] as const;
export type Period = (typeof PERIODS)[number];

/** Where a window starts on the engine's clock: today (UTC), the last 7 or 30 days, or the beginning. */
export function periodStart(period: Period, now: number): number {
  if (period === 'day') return utcDayStart(now);
  if (period === 'week') return now - 7 * DAY_MS;
  if (period === 'month') return now - 30 * DAY_MS;
  return 0;
}

/** "today (UTC)", "last 7d"; in a replay the engine's day and window are candle time, and say so. */
export const periodTitle = (period: Period, clock?: ClockKind): string => {
  const on = clock === undefined || clock === 'wall' ? '' : clockLabel(clock);
  if (period === 'all') return 'all time';
  if (period === 'day') return `today (UTC${on ? `, ${on}` : ''})`;
  return `last ${period}${on ? ` (${on})` : ''}`;
};

export function buildPerformanceReply(src: ReportSource, period: Period): Reply {
  const ccy = journalQuote(src.journal);
  const { byReason, bySymbol } = src.journal.tradeStats(periodStart(period, src.engine.status().now));
  const title = `Performance — ${periodTitle(period, src.engine.clockKind)}`;
  const trades = byReason.reduce((a, g) => a + g.trades, 0);
  if (trades === 0) return { title, text: 'No trades closed in this period.' };
  const wins = byReason.reduce((a, g) => a + g.wins, 0);
  const net = byReason.reduce((a, g) => a + g.net, 0);
  const rows = (groups: readonly TradeGroup[], name: (key: string) => string) =>
    [...groups]
      .sort((a, b) => b.net - a.net)
      .map((g) => [
        name(g.key),
        String(g.trades),
        `${Math.round((g.wins / g.trades) * 100)}%`,
        signedMoney(g.net, ccy),
        signedMoney(g.net / g.trades, ccy),
        duration(g.heldMs),
      ]);
  const head = ['trades', 'won', 'net PnL', 'per trade', 'held (mean)'];
  const reason = (key: string) => (key in EXIT_REASONS ? EXIT_REASONS[key as keyof typeof EXIT_REASONS] : 'not recorded');
  return {
    title,
    text: [
      table(rows(byReason, reason), ['exit', ...head]),
      '',
      table(
        rows(bySymbol, (s) => s),
        ['symbol', ...head],
      ),
      '',
      `${counted(trades, 'trade')}, ${wins} won; net ${signedMoney(net, ccy)} (fees included; average ${money(net / trades, ccy)})`,
    ].join('\n'),
    mono: true,
  };
}
