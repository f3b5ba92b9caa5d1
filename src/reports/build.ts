// Report and command replies, built from the journal. Transport-neutral: a Reply with mono text and
// an optional PNG. Used by the scheduled reports (service.ts) and by /daily /weekly /monthly
// /trades /chart.
import { counted, duration, forMarket, kv, money, pct, percent, signedMoney, table } from '../chat/format.ts';
import type { Services } from '../chat/services.ts';
import { tradeId } from '../engine/trades.ts';
import type { Reply, ReplyImage } from '../chat/types.ts';
import { clockLabel, DAY_MS, type ClockKind } from '../core/clock.ts';
import { pausedSymbolsLine } from '../chat/helpers.ts';
import { EXIT_REASONS } from '../core/types.ts';
import type { EngineStatus } from '../engine/engine.ts';
import type { Journal, PositionRow } from '../journal/journal.ts';
import { STATE } from '../journal/state-keys.ts';
import type { Bar, ChartOptions } from './charts.ts';

// echarts and resvg are large (~60 MB resident): load them with the first chart, not at start-up.
const renderEquityChart = async (points: ReadonlyArray<readonly [number, number]>, o: ChartOptions): Promise<Buffer> =>
  (await import('./charts.ts')).renderEquityChart(points, o);
const renderPnlBars = async (bars: readonly Bar[], o: ChartOptions): Promise<Buffer> =>
  (await import('./charts.ts')).renderPnlBars(bars, o);
import {
  dayLabel,
  monthLabel,
  periodLabel,
  recentPeriods,
  shortTimeLabel,
  timeLabel,
  weekdayLabel,
  type Period,
  type PeriodUnit,
} from './periods.ts';
import { History, netPnl, splitDays, tradesFunding, type LivePoint, type PeriodStats } from './stats.ts';

export type ReportKind = 'daily' | 'weekly' | 'monthly';

/** What reports read: the journal, the engine's live state, and the report settings. */
export interface ReportSource {
  journal: Journal;
  engine: {
    status(): EngineStatus;
    marketInfo?(symbol: string): { priceStep?: number; qtyStep?: number } | undefined;
    /** Which clock the engine's times are on (labels them); wall when absent. */
    readonly clockKind?: ClockKind;
  };
  timezone: string;
  /** Attach PNG charts (config reports.charts). */
  charts: boolean;
  /** Wall-clock fallback for "now" before the engine has seen a candle. */
  wallNow: () => number;
  /** A model or ensemble strategy's scored predictions per period (its "Models" section). */
  models?: ModelScores;
}

/** Scored predictions per model version, of those whose horizon ended in [since, until). */
export interface ModelScores {
  talliesBetween(since: number, until: number): ReadonlyArray<{ model: string; version: number; directional: number; hits: number }>;
}

const MAX_TRADE_ROWS = 15;

/** The report source for chat commands. */
export function reportSourceFor(services: Pick<Services, 'journal' | 'engine' | 'config' | 'clock'>): ReportSource {
  return {
    journal: services.journal,
    engine: services.engine,
    timezone: services.config.reports.timezone,
    charts: services.config.reports.charts,
    wallNow: () => services.clock.now(),
  };
}

/** The zone a report's times are in, and their clock when it is not the wall clock: "UTC" live, "UTC, candle time" in a replay. */
export function timesIn(src: Pick<ReportSource, 'timezone' | 'engine'>): string {
  const kind = src.engine.clockKind;
  return kind === undefined || kind === 'wall' ? src.timezone : `${src.timezone}, ${clockLabel(kind)}`;
}

/**
 * The trading clock's "now" (candle time in replays, wall time live) and the engine's equity at it, from one
 * read of the engine: a running period ends at `now`, so a live point read a moment later would fall after
 * its end and be dropped (the running period shown as "—"). No live point before the engine's first candle.
 */
function liveNow(src: ReportSource): { now: number; live: LivePoint | undefined } {
  const st = src.engine.status();
  if (st.now > 0) return { now: st.now, live: { now: st.now, equity: st.equity, unrealized: st.unrealizedPnl } };
  return { now: src.journal.equityBefore(Number.MAX_SAFE_INTEGER)?.ts ?? src.wallNow(), live: undefined };
}

/** Quote currency the account is kept in (recorded at the first start). */
export function journalQuote(journal: Journal): string {
  return STATE.account.read(journal)?.quote ?? 'USDT';
}

function pnlLine(s: PeriodStats, ccy: string): string {
  if (s.pnlSource === 'none') return '—';
  const p = s.pnlPct !== null ? ` (${pct(s.pnlPct)})` : '';
  return `${signedMoney(s.pnl, ccy)}${p}${s.pnlSource === 'realized' ? ' realized (no equity snapshots)' : ''}`;
}

function equityLine(s: PeriodStats, ccy: string): string {
  if (s.endEquity === null) return s.startEquity !== null ? `${money(s.startEquity, ccy)} (no snapshot in the period)` : '—';
  return `${money(s.endEquity, ccy)}${s.startEquity !== null ? ` (start ${money(s.startEquity, ccy)})` : ''}`;
}

function tradeRows(src: ReportSource, trades: readonly PositionRow[], ccy: string): string {
  const tz = src.timezone;
  // Perps: what each trade paid or received in funding while open, beside its net PnL (which leaves it out).
  const funding = tradesFunding(src.journal, trades);
  const fundingCol = (t: PositionRow): string[] => {
    if (!funding.size) return [];
    const f = funding.get(t.id);
    return [f !== undefined ? signedMoney(f, ccy) : ''];
  };
  const rows = trades.map((t) => {
    const { price, qty } = forMarket(src.engine.marketInfo?.(t.symbol));
    return [
      t.symbol,
      t.side,
      qty(t.maxQty),
      price(t.entryPrice),
      t.exitPrice != null ? price(t.exitPrice) : '—',
      t.exitReason != null ? EXIT_REASONS[t.exitReason] : '—',
      signedMoney(netPnl(t), ccy),
      ...fundingCol(t),
      t.closedAt != null ? duration(t.closedAt - t.openedAt) : '—',
      shortTimeLabel(t.openedAt, tz),
      t.closedAt != null ? shortTimeLabel(t.closedAt, tz) : '—',
      tradeId(t),
    ];
  });
  const cols = [
    'symbol',
    'side',
    'qty',
    'entry',
    'exit',
    'by',
    'net PnL',
    ...(funding.size ? ['funding'] : []),
    'held',
    'opened',
    'closed',
    'id',
  ];
  return table(rows, cols);
}

/** Funding paid or received (perps), a line when the period had any: the PnL includes it, realized does not (reports, /pnl). */
export const fundingRow = (funding: number | null, ccy?: string): Array<[string, string]> =>
  funding !== null ? [['Funding', `${signedMoney(funding, ccy)} (${funding < 0 ? 'paid' : 'received'}, not in realized)`]] : [];

const winRate = (wins: number, n: number): string => (n ? `${Math.round((wins / n) * 100)}% (${wins}/${n} won)` : '—');

/** A chart for a reply. No caption: the reply's title already says what it shows. */
async function image(src: ReportSource, render: () => Promise<Buffer>, filename: string): Promise<ReplyImage | undefined> {
  if (!src.charts) return undefined;
  return { png: await render(), filename };
}

const fileDate = (ts: number, tz: string): string => dayLabel(ts, tz);

// ---- scheduled reports ------------------------------------------------------------------------

/** The report for a period that has ended (or, with a live engine, is ending now). */
export async function buildPeriodReport(src: ReportSource, kind: ReportKind, period: Period): Promise<Reply> {
  return kind === 'daily' ? dailyReport(src, period) : summaryReport(src, kind, period);
}

const NO_ACTIVITY = 'No activity: no equity snapshots or closed trades in this period (was the bot running?).';

async function dailyReport(src: ReportSource, period: Period): Promise<Reply> {
  const tz = src.timezone;
  const ccy = journalQuote(src.journal);
  const s = new History(src.journal, period.start, period.end, liveNow(src).live).period(period);
  const label = periodLabel(period, tz);
  const title = `Daily report — ${label} (${timesIn(src)})`;
  const now = attention(src);
  if (s.pnlSource === 'none' && !s.trades.length) return { title, text: NO_ACTIVITY + now, mono: true, severity: now ? 'warning' : 'info' };
  const lines: Array<[string, string]> = [
    ['PnL', pnlLine(s, ccy)],
    ['Equity', equityLine(s, ccy)],
    ['Realized', `${signedMoney(s.realized, ccy)} (net of fees)`],
    ['Unrealized', s.unrealized !== null ? signedMoney(s.unrealized, ccy) : '—'],
    ['Fees paid', money(s.fees, ccy)],
    ...fundingRow(s.funding, ccy),
    ['Drawdown', `${(s.maxDrawdown * 100).toFixed(2)}% (max in the day)`],
    ['Trades', s.trades.length ? `${s.trades.length} closed, ${winRate(s.wins, s.trades.length)}` : 'none closed'],
  ];
  let text = kv(lines);
  if (s.trades.length) {
    const shown = s.trades.slice(-MAX_TRADE_ROWS);
    text += `\n\n${tradeRows(src, shown, ccy)}`;
    if (s.trades.length > shown.length) text += `\n… and ${counted(s.trades.length - shown.length, 'earlier trade')} that day`;
  }
  text += modelsSection(src, period, 'day') + now;
  const img = await periodChart(src, s, label, period, `daily-${fileDate(period.start, tz)}.png`);
  return { title, text, mono: true, severity: now ? 'warning' : 'info', ...(img ? { image: img } : {}) };
}

/**
 * What keeps the bot from trading, or leaves a position bare, as the morning report goes out: said every
 * morning until it is fixed (the alert went out once, maybe at 3 am). Empty when all is well.
 */
function attention(src: ReportSource): string {
  const st = src.engine.status();
  const out: string[] = [];
  if (st.blocked) out.push(`Entries blocked: ${st.blocked}`);
  const paused = pausedSymbolsLine(st, src.engine.clockKind ?? 'wall');
  if (paused) out.push(`Paused on their own: ${paused}`);
  for (const g of st.unprotected) out.push(`UNPROTECTED ${g.symbol}: ${g.detail}`);
  return out.length ? `\n\nNeeds attention now:\n${out.map((l) => `- ${l}`).join('\n')}` : '';
}

/**
 * Which models still work: each one's hit rate on the directional predictions whose horizon ended in the
 * period (each call in one report, with its outcome), so the morning report answers it beside the PnL. Empty
 * without models.
 */
function modelsSection(src: ReportSource, period: Period, unit: string): string {
  const tallies = src.models?.talliesBetween(period.start, period.end) ?? [];
  if (!tallies.length) return '';
  const rows = tallies.map((t) => [
    `${t.model} v${t.version}`,
    t.directional > 0 ? percent(t.hits / t.directional, 1) : '—',
    `${t.hits}/${t.directional}`,
  ]);
  return `\n\nModels, the buy/sell calls whose horizon ended this ${unit}:\n${table(rows, ['model', 'hit rate', 'hits'])}`;
}

/** The period's equity chart, when it has points. */
async function periodChart(src: ReportSource, s: PeriodStats, label: string, period: Period, file: string) {
  if (!s.points.length) return undefined;
  const ccy = journalQuote(src.journal);
  return image(
    src,
    () =>
      renderEquityChart(s.points, {
        title: `Equity — ${label}`,
        subtitle: chartSubtitle(s, ccy),
        timezone: src.timezone,
        xRange: [period.start, period.end],
      }),
    file,
  );
}

function chartSubtitle(s: PeriodStats, ccy: string): string {
  if (s.startEquity === null || s.endEquity === null) return '';
  return `${money(s.startEquity, ccy)} → ${money(s.endEquity, ccy)}  (${signedMoney(s.pnl, ccy)}${s.pnlPct !== null ? `, ${pct(s.pnlPct)}` : ''})`;
}

async function summaryReport(src: ReportSource, kind: 'weekly' | 'monthly', period: Period): Promise<Reply> {
  const tz = src.timezone;
  const ccy = journalQuote(src.journal);
  const h = new History(src.journal, period.start, period.end, liveNow(src).live);
  const s = h.period(period);
  const label = periodLabel(period, tz);
  const title = `${kind === 'weekly' ? 'Weekly' : 'Monthly'} report — ${label} (${timesIn(src)})`;
  if (s.pnlSource === 'none' && !s.trades.length) return { title, text: NO_ACTIVITY, mono: true, severity: 'info' };
  // Days before the journal's first record are not "no activity", they are before the bot existed (as in /daily).
  const calendar = splitDays(period, tz);
  const skipped = Math.max(
    0,
    calendar.findIndex((d) => h.hasDataUntil(d.end)),
  );
  const days = calendar.slice(skipped).map((d) => h.period(d));
  const active = days.filter((d) => d.pnlSource !== 'none');
  // A flat day is neither: "Best day: 0.00" in a week without a gain read as if one had been made.
  const best = active.reduce<PeriodStats | undefined>((b, d) => (d.pnl > 0 && (!b || d.pnl > b.pnl) ? d : b), undefined);
  const worst = active.reduce<PeriodStats | undefined>((w, d) => (d.pnl < 0 && (!w || d.pnl < w.pnl) ? d : w), undefined);
  const lines: Array<[string, string]> = [
    ['PnL', pnlLine(s, ccy)],
    ['Equity', equityLine(s, ccy)],
    ['Realized', `${signedMoney(s.realized, ccy)} (net of fees)`],
    ['Fees paid', money(s.fees, ccy)],
    ...fundingRow(s.funding, ccy),
    ['Trades', `${s.trades.length} closed`],
    ['Win rate', winRate(s.wins, s.trades.length)],
    ['Best day', best ? `${dayLabel(best.start, tz)} ${signedMoney(best.pnl, ccy)}` : '— (no day up)'],
    ['Worst day', worst ? `${dayLabel(worst.start, tz)} ${signedMoney(worst.pnl, ccy)}` : '— (no day down)'],
    ['Days up/down', `${active.filter((d) => d.pnl > 0).length} / ${active.filter((d) => d.pnl < 0).length}`],
    ['Max drawdown', `${(s.maxDrawdown * 100).toFixed(2)}%`],
  ];
  const rows = days.map((d) => [
    weekdayLabel(d.start, tz),
    d.pnlSource === 'none' ? '—' : signedMoney(d.pnl, ccy),
    d.trades.length ? String(d.trades.length) : '',
    d.endEquity !== null ? money(d.endEquity, ccy) : '—',
  ]);
  let text = `${kv(lines)}\n\n${table(rows, ['day', 'PnL', 'trades', 'equity'])}`;
  if (skipped > 0) text += `\n(${counted(skipped, 'earlier day')} before the first record left out)`;
  text += modelsSection(src, period, kind === 'weekly' ? 'week' : 'month');
  const img = await periodChart(src, s, label, period, `${kind}-${fileDate(period.start, tz)}.png`);
  return { title, text, mono: true, severity: 'info', ...(img ? { image: img } : {}) };
}

// ---- /daily /weekly /monthly -------------------------------------------------------------------

const UNIT_WORDS: Record<PeriodUnit, { title: string; col: string }> = {
  day: { title: 'Daily', col: 'day' },
  week: { title: 'Weekly', col: 'week of' },
  month: { title: 'Monthly', col: 'month' },
};

function unitLabel(unit: PeriodUnit, start: number, tz: string): string {
  return unit === 'month' ? monthLabel(start, tz) : unit === 'week' ? dayLabel(start, tz) : weekdayLabel(start, tz);
}

/** PnL for the last n days/weeks/months (the last one still running), as a table and a bar chart. */
export async function buildHistoryReply(src: ReportSource, unit: PeriodUnit, n: number): Promise<Reply> {
  const tz = src.timezone;
  const ccy = journalQuote(src.journal);
  const { now, live } = liveNow(src);
  const all = recentPeriods(unit, n, now, tz);
  const words = UNIT_WORDS[unit];
  const title = `${words.title} PnL — last ${counted(n, unit)} (${timesIn(src)})`;
  const h = new History(src.journal, all[0]!.start, now, live);
  // Periods before the journal's first record are not "0 PnL", they are before the bot existed.
  const first = all.findIndex((p) => h.hasDataUntil(p.end));
  if (first < 0) return { title, text: 'No trading data yet: the journal has no equity snapshots or closed trades.' };
  const stats = all.slice(first).map((p) => h.period(p));
  const rows = stats.map((s) => [
    unitLabel(unit, s.start, tz) + (s.partial ? '*' : ''),
    s.pnlSource === 'none' ? '—' : signedMoney(s.pnl, ccy),
    s.pnlPct !== null ? pct(s.pnlPct) : '',
    s.trades.length ? `${s.trades.length} (${s.wins} won)` : '0',
    s.endEquity !== null ? money(s.endEquity, ccy) : '—',
  ]);
  const total = stats.reduce((a, s) => a + s.pnl, 0);
  const trades = stats.reduce((a, s) => a + s.trades.length, 0);
  const wins = stats.reduce((a, s) => a + s.wins, 0);
  const last = stats[stats.length - 1]!;
  let text = table(rows, [words.col, 'PnL', '%', 'trades', 'equity']);
  text += `\n\nTotal: ${signedMoney(total, ccy)}; ${counted(trades, 'trade')}, win rate ${winRate(wins, trades)}`;
  if (last.partial) text += `\n* so far, up to ${timeLabel(now, tz)}`;
  const before = all.length - stats.length;
  if (before > 0) text += `\n(${counted(before, `earlier ${unit}`)} before the first record left out)`;
  const bars: Bar[] = stats.map((s) => ({ label: unitLabel(unit, s.start, tz).replace(/^\w{3} /, ''), value: round2(s.pnl) }));
  const img = await image(
    src,
    () => renderPnlBars(bars, { title: `${words.title} PnL (${ccy})`, subtitle: `total ${signedMoney(total, ccy)}`, timezone: tz }),
    `pnl-${unit}-${fileDate(now, tz)}.png`,
  );
  return { title, text, mono: true, ...(img ? { image: img } : {}) };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

// ---- /trades ----------------------------------------------------------------------------------

export function buildTradesReply(src: ReportSource, n: number): Reply {
  const ccy = journalQuote(src.journal);
  const trades = src.journal.closedPositions({ limit: n });
  if (!trades.length) return { text: 'No closed trades yet.' };
  const net = trades.reduce((a, t) => a + netPnl(t), 0);
  const wins = trades.filter((t) => netPnl(t) > 0).length;
  return {
    title: `Last ${counted(trades.length, 'closed trade')} (${timesIn(src)})`,
    text: `${tradeRows(src, trades, ccy)}\n\nNet: ${signedMoney(net, ccy)}; win rate ${winRate(wins, trades.length)}`,
    mono: true,
  };
}

// ---- /chart -----------------------------------------------------------------------------------

export type ChartKind = 'equity' | 'pnl';

export interface ChartResult {
  /** null: nothing to draw yet. */
  png: Buffer | null;
  title: string;
  summary: string;
  filename: string;
}

/** Equity curve or daily PnL bars over the last `days` days (null: all history), on the trading clock. */
export async function renderChart(src: ReportSource, kind: ChartKind, days: number | null): Promise<ChartResult> {
  const tz = src.timezone;
  const ccy = journalQuote(src.journal);
  const { now, live } = liveNow(src);
  const span = days === null ? 'all time' : `last ${counted(days, 'day')}`;
  const filename = `${kind}-${days === null ? 'all' : `${days}d`}-${fileDate(now, tz)}.png`;
  // 'all' starts at the journal's first record; a window starts `days` back (or at the first record).
  const firstTs = days === null ? firstRecord(src.journal) : now - days * DAY_MS;
  if (firstTs === null)
    return {
      png: null,
      title: `${kind === 'equity' ? 'Equity' : 'Daily PnL'} — ${span}`,
      summary: 'No data yet: the journal has no equity snapshots or closed trades.',
      filename,
    };
  if (kind === 'equity') {
    const since = Math.min(firstTs, now);
    const period: Period = { start: since, end: now, partial: true };
    const s = new History(src.journal, since, now, live).period(period);
    const title = `Equity — ${span}`;
    if (!s.points.length) return { png: null, title, summary: 'No equity snapshots in this period yet.', filename };
    const summary =
      s.startEquity !== null && s.endEquity !== null
        ? `${money(s.startEquity, ccy)} → ${money(s.endEquity, ccy)} (${signedMoney(s.pnl, ccy)}${s.pnlPct !== null ? `, ${pct(s.pnlPct)}` : ''}); max drawdown ${(s.maxDrawdown * 100).toFixed(2)}%`
        : counted(s.points.length, 'snapshot');
    const png = await renderEquityChart(s.points, {
      title: `${title} (${ccy})`,
      subtitle: chartSubtitle(s, ccy),
      timezone: tz,
      xRange: [since, now],
    });
    return { png, title, summary, filename };
  }
  const nDays = days ?? Math.min(3660, Math.floor((now - firstTs) / DAY_MS) + 2);
  const all = recentPeriods('day', nDays, now, tz);
  const h = new History(src.journal, all[0]!.start, now, live);
  const first = all.findIndex((p) => h.hasDataUntil(p.end));
  const stats = (first < 0 ? [] : all.slice(first)).map((p) => h.period(p));
  const title = `Daily PnL — ${span}`;
  if (!stats.length) return { png: null, title, summary: 'No PnL data in this period yet.', filename };
  const total = stats.reduce((a, s) => a + s.pnl, 0);
  const up = stats.filter((s) => s.pnl > 0).length;
  const down = stats.filter((s) => s.pnl < 0).length;
  const summary = `Total ${signedMoney(total, ccy)} over ${counted(stats.length, 'day')}: ${up} up, ${down} down`;
  const bars = stats.map((s) => ({ label: dayLabel(s.start, tz).slice(5), value: round2(s.pnl) }));
  const png = await renderPnlBars(bars, { title: `${title} (${ccy})`, subtitle: `total ${signedMoney(total, ccy)}`, timezone: tz });
  return { png, title, summary, filename };
}

/** Time of the journal's first equity snapshot or trade, or null when it has none. */
function firstRecord(journal: Journal): number | null {
  let first = journal.equitySeries(0, Number.MAX_SAFE_INTEGER)[0]?.ts ?? Infinity;
  for (const t of journal.closedPositions()) first = Math.min(first, t.openedAt);
  return Number.isFinite(first) ? first : null;
}

export async function buildChartReply(src: ReportSource, kind: ChartKind, days: number | null): Promise<Reply> {
  if (!src.charts) return { text: 'Charts are turned off (reports.charts: false in the config).' };
  const r = await renderChart(src, kind, days);
  if (!r.png) return { title: r.title, text: r.summary };
  return { title: r.title, text: r.summary, image: { png: r.png, filename: r.filename } };
}
