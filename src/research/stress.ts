// Stress tests: the config on named crash windows found in the data, and on synthetic shocks.
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { TIMEFRAME_MS, type Timeframe } from '../core/types.ts';
import { utc } from '../core/format.ts';
import { peekCandles } from '../market/csv.ts';
import { detectTimeframe } from '../market/feed.ts';
import { guessFromName } from './data.ts';
import type { Executor, RunJob } from './jobs.ts';
import type { RunResult } from './run-config.ts';
import { CANDLE_SHOCKS, fundingSpike, type CandleShock } from './shocks.ts';

export interface CrashWindow {
  id: string;
  name: string;
  from: number;
  to: number;
}

/** The named crash windows (UTC dates; each spans the fall and the days around it). */
export const CRASH_WINDOWS: readonly CrashWindow[] = [
  { id: 'covid-2020-03', name: 'COVID crash, March 2020', from: Date.UTC(2020, 2, 8), to: Date.UTC(2020, 2, 20) },
  { id: 'may-2021', name: 'May 2021 crash', from: Date.UTC(2021, 4, 16), to: Date.UTC(2021, 4, 20, 12) },
  { id: 'ftx-2022-11', name: 'FTX collapse, November 2022', from: Date.UTC(2022, 10, 6), to: Date.UTC(2022, 10, 14) },
  { id: 'banking-2023-03', name: 'US banking crisis, March 2023', from: Date.UTC(2023, 2, 8), to: Date.UTC(2023, 2, 15) },
];

export const SHOCK_NAMES: Readonly<Record<CandleShock | 'funding_spike' | 'baseline', string>> = {
  baseline: 'no shock (same span)',
  gap_down: '−30 % gap open',
  flash_crash: 'flash crash, recovered within the hour',
  double_vol: 'a week of doubled volatility',
  funding_spike: 'funding-rate spike (1 %/8 h for 3 days)',
};

export interface DataFile {
  path: string;
  symbol: string;
  timeframe: Timeframe;
  first: number;
  /** End of the last candle. */
  end: number;
}

/** Symbol, timeframe and time range of a candle CSV, read from its name, first rows and last line. */
export function describeFile(path: string): DataFile | null {
  const guess = guessFromName(path);
  if (!guess.symbol) return null;
  const head = peekCandles(path, 50);
  if (head.length < 2) return null;
  const timeframe = guess.timeframe ?? detectTimeframe(head);
  const fd = openSync(path, 'r');
  let last = NaN;
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, 4096);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    const lines = buf.toString('utf8').trim().split(/\r?\n/);
    last = Number(lines[lines.length - 1]!.split(',')[0]);
  } finally {
    closeSync(fd);
  }
  if (!Number.isFinite(last)) return null;
  return { path, symbol: guess.symbol, timeframe, first: head[0]!.ts, end: last + TIMEFRAME_MS[timeframe] };
}

export function scanDataDir(dir: string): DataFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => describeFile(join(dir, f)))
    .filter((d): d is DataFile => d !== null);
}

export interface StressCase {
  kind: 'window' | 'shock';
  id: string;
  name: string;
  symbol: string;
  file: string;
  from: number;
  to: number;
  job: RunJob;
}

export interface StressPlan {
  cases: StressCase[];
  /** Windows (per symbol) no file covers, with the reason. */
  uncovered: string[];
}

/** Files usable for `symbol` under the config's timeframe (the same or finer), finest first. */
function usable(files: readonly DataFile[], symbol: string, tf: Timeframe): DataFile[] {
  return files
    .filter((f) => f.symbol === symbol && TIMEFRAME_MS[f.timeframe] <= TIMEFRAME_MS[tf])
    .sort((a, b) => TIMEFRAME_MS[a.timeframe] - TIMEFRAME_MS[b.timeframe] || b.end - b.first - (a.end - a.first));
}

/** One single-symbol run per (crash window × symbol) the data covers, and per shock × symbol. */
export function planStress(config: Config, files: readonly DataFile[]): StressPlan {
  const tf = config.market.timeframe;
  const cases: StressCase[] = [];
  const uncovered: string[] = [];
  const only = (symbol: string): Config => ({ ...config, market: { ...config.market, symbols: [symbol] } });
  for (const symbol of config.market.symbols) {
    const mine = usable(files, symbol, tf);
    for (const w of CRASH_WINDOWS) {
      const f = mine.find((x) => x.first <= w.from && x.end >= w.to);
      if (!f) {
        uncovered.push(`${w.name}: no ${symbol} file at ${tf} or finer covers ${utc(w.from)} … ${utc(w.to)}`);
        continue;
      }
      cases.push({
        kind: 'window',
        id: w.id,
        name: w.name,
        symbol,
        file: f.path,
        from: w.from,
        to: w.to,
        job: { runId: `${w.id}:${symbol}`, config: only(symbol), data: { [symbol]: f.path }, from: w.from, to: w.to },
      });
    }
    // Shocks hit the middle of the last 30 days of the longest usable file.
    const base = [...mine].sort((a, b) => b.end - b.first - (a.end - a.first))[0];
    if (!base) continue;
    const tfMs = TIMEFRAME_MS[tf];
    const to = Math.floor(base.end / tfMs) * tfMs;
    const from = Math.max(base.first + 200 * tfMs, to - 30 * 86_400_000);
    if (!(from < to)) continue;
    const at = Math.floor((from + (to - from) / 2) / tfMs) * tfMs;
    const shock = (id: keyof typeof SHOCK_NAMES, extra: Partial<RunJob>): StressCase => ({
      kind: 'shock',
      id,
      name: SHOCK_NAMES[id],
      symbol,
      file: base.path,
      from,
      to,
      job: { runId: `${id}:${symbol}`, config: only(symbol), data: { [symbol]: base.path }, from, to, ...extra },
    });
    cases.push(shock('baseline', {}));
    for (const k of CANDLE_SHOCKS) cases.push(shock(k, { shocks: { [symbol]: { kind: k, at } } }));
    if (config.market.type === 'perp') cases.push(shock('funding_spike', { funding: { [symbol]: fundingSpike(from, to, at) } }));
  }
  return { cases, uncovered };
}

export interface StressRow {
  case: StressCase;
  result?: RunResult;
  error?: string;
}

export async function runStress(plan: StressPlan, executor: Executor): Promise<StressRow[]> {
  const rows = new Map<string, StressRow>(plan.cases.map((c) => [c.job.runId, { case: c }]));
  await executor.run(
    plan.cases.map((c) => c.job),
    (o) => {
      const row = rows.get(o.runId);
      if (!row) return;
      if (o.result) row.result = o.result;
      else row.error = o.error ?? 'no result';
    },
  );
  return plan.cases.map((c) => rows.get(c.job.runId)!);
}

export const fileName = (p: string): string => basename(p);

/**
 * Shocks that changed nothing against the same span without one (the same trades, the same final
 * equity): the bot was flat or its entries blocked (breaker, halt) when the shock hit. Said beside the
 * table, or a reader takes "−30 % gap open: −0.47 %" for a bot that rode it out.
 */
export function unchangedByShock(rows: readonly StressRow[]): string[] {
  const notes: string[] = [];
  for (const base of rows) {
    if (base.case.id !== 'baseline' || !base.result) continue;
    const b = base.result;
    const same = rows.filter(
      (r) =>
        r.case.kind === 'shock' &&
        r.case.id !== 'baseline' &&
        r.case.symbol === base.case.symbol &&
        r.result !== undefined &&
        r.result.metrics.trades === b.metrics.trades &&
        r.result.final_equity === b.final_equity,
    );
    if (same.length === 0) continue;
    const blocked = b.breaker_trips > 0 || b.halts > 0 ? ` (breaker ${b.breaker_trips}, halts ${b.halts} in that span)` : '';
    notes.push(
      `unchanged by the shock, ${base.case.symbol}: ${same.map((r) => r.case.name).join('; ')} — the bot was flat or its entries were blocked${blocked} when it hit`,
    );
  }
  return notes;
}
