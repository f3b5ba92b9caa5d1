// The piscina worker behind /backtest and /stress: loads the data, runs the config, and draws the
// table and the PNG here, so nothing heavy (CSV parsing, the engine loop, chart rendering) ever runs
// on the bot's trading loop.
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import type { Config } from '../config/schema.ts';
import { duration, money, pct, percent, signedMoney, utc } from '../core/format.ts';
import { quoteOf } from '../core/symbols.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import { equityDrawdownPng, windowPng } from './charts.ts';
import { loadSeries, seriesRange } from './data.ts';
import { InlineExecutor } from './jobs.ts';
import { exitsLine, table } from './print.ts';
import { isModelStrategy } from '../models/wire.ts';
// Static, not import() on demand: from the TypeScript sources (tsx) a worker thread's import() of a
// .ts file fails on Node 20 (its ESM hooks do not reach workers); this one thread is made only for /backtest.
import { runModelConfigBacktest } from './model-run.ts';
import { runConfigBacktest, type RunResult } from './run-config.ts';
import { fileName, planStress, runStress, scanDataDir, unchangedByShock } from './stress.ts';

const DAY_MS = 86_400_000;

export type ChatTask =
  | {
      kind: 'backtest';
      config: Config;
      data: Record<string, string>;
      days: number;
      changes: string;
      /** Candle time: the window ends here (a replay's now), not at the data's end. */
      until?: number;
    }
  | { kind: 'stress'; config: Config; dataDir: string };

export interface ChatOutcome {
  title: string;
  text: string;
  png?: Uint8Array;
  /** The run could not be made (no data, data not covering…): the message, nothing that looks like a result. */
  error?: string;
}

/**
 * Lower this thread's CPU priority, so a busy box gives the trading loop the core first. Linux
 * schedules threads one by one and /proc/thread-self names this one; elsewhere it stays as it is.
 */
function yieldToTheBot(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, constants.priority.PRIORITY_LOW);
  } catch {
    // not Linux, or not allowed: run at normal priority
  }
}

export default async function run(task: ChatTask): Promise<ChatOutcome> {
  yieldToTheBot();
  try {
    return task.kind === 'backtest' ? await backtest(task) : await stress(task);
  } catch (e) {
    return { title: task.kind === 'backtest' ? 'Backtest' : 'Stress test', text: '', error: (e as Error).message };
  }
}

/**
 * The last `days` days the data of every symbol holds, up to `until` when given (fewer when it holds
 * fewer: said in the reply).
 */
export function lastDaysWindow(
  config: Config,
  data: Record<string, string>,
  days: number,
  until = Infinity,
): { from: number; to: number; short: boolean } {
  const tf = TIMEFRAME_MS[config.market.timeframe];
  let first = -Infinity;
  let end = Infinity;
  for (const s of config.market.symbols) {
    const file = data[s];
    if (file === undefined) throw new Error(`no data for ${s}`);
    const series = loadSeries(file);
    const r = seriesRange(series.candles);
    first = Math.max(first, r.first);
    end = Math.min(end, r.last + TIMEFRAME_MS[series.timeframe]);
  }
  const to = Math.floor(Math.min(end, until) / tf) * tf;
  const want = to - days * DAY_MS;
  const from = Math.ceil(Math.max(want, first) / tf) * tf;
  if (!(from < to)) throw new Error(`the data (${Object.values(data).map(fileName).join(', ')}) holds less than one candle`);
  return { from, to, short: want < first };
}

async function backtest(t: Extract<ChatTask, { kind: 'backtest' }>): Promise<ChatOutcome> {
  const w = lastDaysWindow(t.config, t.data, t.days, t.until);
  const run = { config: t.config, data: t.data, from: w.from, to: w.to };
  const r = isModelStrategy(t.config.strategy.name) ? await runModelConfigBacktest(run) : runConfigBacktest(run);
  const ccy = quoteOf(r.symbols);
  const m = r.metrics;
  const head =
    `${r.symbols.join(', ')} ${r.timeframe}, ${r.strategy}${t.changes ? ` with ${t.changes}` : ''}\n` +
    `${utc(w.from)} … ${utc(w.to)} (${duration(w.to - w.from)}${w.short ? `: the data holds only this much, not ${t.days} d` : ''}` +
    `${t.until !== undefined ? "; up to the replay's candle time" : ''})\n` +
    `data: ${[...new Set(Object.values(t.data).map(fileName))].join(', ')}`;
  const rows: Array<[string, string]> = [
    ['Final equity', money(r.final_equity, ccy)],
    ['PnL', signedMoney(r.final_equity - m.start_equity, ccy)],
    ['Return', pct(m.total_return)],
    ['Max drawdown', percent(m.max_drawdown)],
    ['Worst day', pct(r.worst_day)],
    ['Sharpe', m.sharpe.toFixed(2)],
    ['Trades', String(m.trades)],
    ...(m.trades > 0 ? [['Exits', exitsLine(r.exits)] as [string, string]] : []),
    ['Win rate', percent(m.win_rate)],
    ['Fees', money(m.fees, ccy)],
    ['Risk rejections', String(Object.values(r.rejections).reduce((a, b) => a + b, 0))],
    ['Breaker trips', String(r.breaker_trips)],
    ['Liquidations', String(r.liquidations.length)],
    ['Candles', String(r.bars)],
  ];
  const png = await equityDrawdownPng(r, `Backtest: ${r.strategy} on ${r.symbols.join(', ')} ${r.timeframe}`);
  return { title: 'Backtest', text: `${head}\n\n${table(['', ''], rows).split('\n').slice(2).join('\n')}`, png };
}

async function stress(t: Extract<ChatTask, { kind: 'stress' }>): Promise<ChatOutcome> {
  let files;
  try {
    files = scanDataDir(t.dataDir);
  } catch (e) {
    throw new Error(`research.dataDir ${t.dataDir}: ${(e as Error).message}`);
  }
  const plan = planStress(t.config, files);
  if (plan.cases.length === 0)
    throw new Error(`no data in ${t.dataDir} for ${t.config.market.symbols.join(', ')} at ${t.config.market.timeframe} or finer`);
  const rows = await runStress(plan, new InlineExecutor());
  const ccy = quoteOf(t.config.market.symbols);
  const text = table(
    ['window', 'symbol', 'PnL', 'max DD', 'worst day', 'trades', 'breaker', 'liq.', 'under water'],
    rows.map((row) => {
      const x = row.result;
      if (!x) return [row.case.name, row.case.symbol, `error: ${row.error ?? 'no result'}`];
      return [
        row.case.name,
        row.case.symbol,
        signedMoney(x.final_equity - x.metrics.start_equity, ccy),
        percent(x.metrics.max_drawdown),
        pct(x.worst_day),
        String(x.metrics.trades),
        String(x.breaker_trips),
        String(x.liquidations.length),
        duration(x.time_under_water * DAY_MS),
      ];
    }),
  );
  const notes = [...unchangedByShock(rows), ...plan.uncovered.map((u) => `not covered: ${u}`)];
  // One image fits a chat reply: the case with the deepest drawdown.
  let worst: { r: RunResult; name: string } | null = null;
  for (const row of rows)
    if (row.result && (!worst || row.result.metrics.max_drawdown > worst.r.metrics.max_drawdown))
      worst = { r: row.result, name: `${row.case.name}: ${row.case.symbol}` };
  const png = worst ? await windowPng(worst.r, `Deepest drawdown — ${worst.name}`) : undefined;
  return { title: 'Stress test', text: [text, ...notes].join('\n'), ...(png ? { png } : {}) };
}
