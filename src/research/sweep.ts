// Parameter sweeps: grid, seeded random, or successive halving, optionally walk-forward; every run
// goes to the results store (resumable, never counted twice) through an executor.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import type { MetricRule, RuleMetric } from '../core/metric-rules.ts';
import type { Config } from '../config/schema.ts';
import { loadSeries, seriesRange } from './data.ts';
import type { Executor, JobOutcome, RunJob } from './jobs.ts';
import { calmarOf } from '../engine/cagr-span.ts';
import { failedRuleTexts, figure, objectiveValue, slim, type Objective, type RunFigures } from './objective.ts';
import { buildConfigs, gridPoints, randomPoints, type BuiltPoint, type ParamPoint, type ParamSpec } from './params.ts';
import type { RunResult } from './run-config.ts';
import type { ResultsStore } from './store.ts';
import { stitch, walkForwardWindows, type Stitched, type WalkForwardSpec, type WfWindow } from './walk-forward.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import { quoteOf } from '../core/symbols.ts';
import { isoUtc } from '../market/validator.ts';

export type Search =
  { kind: 'grid' } | { kind: 'random'; n: number; seed: number } | { kind: 'halving'; eta: number; n?: number; seed: number };

export interface SweepOptions {
  raw: Record<string, unknown>;
  base: Config;
  data: Record<string, string>;
  funding?: Record<string, string> | undefined;
  from?: number | undefined;
  to?: number | undefined;
  specs: ParamSpec[];
  search: Search;
  objective: Objective;
  require: MetricRule[];
  walkForward?: WalkForwardSpec | undefined;
  store: ResultsStore;
  executor: Executor;
  clock: Clock;
  /** done/total runs (cached ones count as done at once). */
  progress?: (done: number, total: number) => void;
}

export interface Ranked {
  point: ParamPoint;
  figures: RunFigures;
  objective: number;
  passed: boolean;
  failed: string[];
}

export interface WindowReport {
  index: number;
  train: [number, number];
  test: [number, number] | null;
  best: Ranked | null;
  /** The chosen parameters on the unseen window. */
  oos: { figures: RunFigures; objective: number; passed: boolean } | null;
}

export interface SweepReport {
  sweepId: string;
  objective: Objective;
  points: number;
  skipped: Array<{ point: ParamPoint; why: string }>;
  runs: number;
  cached: number;
  errors: Array<{ point: ParamPoint; error: string }>;
  /** Without walk-forward: every point on the whole window, best first. */
  ranking: Ranked[];
  /** Per window: the last rung's points on the train window, best first. */
  rankings: Ranked[][];
  windows: WindowReport[];
  stitched: Stitched | null;
  /** The in-sample/out-of-sample gap (gapOf): one definition on both sides. */
  gap: Gap | null;
}

/**
 * Both sides are the mean over the same windows of one per-window figure: the chosen parameters on their
 * train window (in sample) and on the following test window (out of sample). The figure is the objective,
 * annualized for `return` (CAGR: train and test windows differ in length). The stitched out-of-sample
 * curve's own figure is reported beside it, never mixed into it.
 */
export interface Gap {
  metric: RuleMetric;
  /** Windows counted (both sides finite). */
  windows: number;
  inSample: number;
  outOfSample: number;
  diff: number;
  /** The same figure on the stitched out-of-sample curve (null: the stitched curve does not measure it). */
  stitched: number | null;
}

export const gapMetric = (o: Objective): RuleMetric => (o === 'return' ? 'cagr' : o);

export function gapOf(windows: readonly WindowReport[], objective: Objective, stitched: Stitched | null): Gap | null {
  const metric = gapMetric(objective);
  const pairs = windows.flatMap((w) => {
    if (!w.best || !w.oos) return [];
    const a = figure(w.best.figures, metric);
    const b = figure(w.oos.figures, metric);
    // A window whose CAGR is n/a (under 30 days) has no figure to compare.
    return a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b) ? [[a, b] as const] : [];
  });
  if (pairs.length === 0) return null;
  const inSample = pairs.reduce((s, p) => s + p[0], 0) / pairs.length;
  const outOfSample = pairs.reduce((s, p) => s + p[1], 0) / pairs.length;
  const st: Partial<Record<RuleMetric, number | null>> = stitched
    ? {
        cagr: stitched.cagr,
        sharpe: stitched.sharpe,
        total_return: stitched.total_return,
        calmar: calmarOf(stitched.cagr, stitched.max_drawdown),
      }
    : {};
  return { metric, windows: pairs.length, inSample, outOfSample, diff: inSample - outOfSample, stitched: st[metric] ?? null };
}

const sha = (x: unknown): string => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 24);

/** The experiment's identity: base config, data files (path and size), funding, window. */
export function sweepIdOf(o: Pick<SweepOptions, 'raw' | 'data' | 'funding' | 'from' | 'to'>): string {
  const files = Object.entries(o.data).map(([s, p]) => [s, p, fileSize(p)]);
  return sha({ raw: o.raw, files, funding: o.funding ?? null, from: o.from ?? null, to: o.to ?? null });
}

const fileSize = (p: string): number => {
  try {
    return statSync(p).size;
  } catch {
    return -1;
  }
};

/** The common range of the data files, [start, end); a requested window outside a file names it. */
export function dataRange(
  base: Config,
  data: Record<string, string>,
  want: { from?: number | undefined; to?: number | undefined } = {},
): [number, number] {
  let start = -Infinity;
  let end = Infinity;
  for (const s of base.market.symbols) {
    const path = data[s];
    if (!path) throw new Error(`no data for ${s}: pass --data ${s}=file.csv`);
    const series = loadSeries(path);
    const r = seriesRange(series.candles);
    const fileEnd = r.last + TIMEFRAME_MS[series.timeframe];
    if ((want.from !== undefined && want.from < r.first) || (want.to !== undefined && want.to > fileEnd))
      throw new Error(
        `${path} covers ${isoUtc(r.first)} … ${isoUtc(fileEnd)}, not the requested window ${isoUtc(want.from ?? r.first)} … ${isoUtc(want.to ?? fileEnd)}`,
      );
    start = Math.max(start, r.first);
    end = Math.min(end, fileEnd);
  }
  if (!(start < end)) throw new Error(`the data files do not overlap in time`);
  return [start, end];
}

export async function runSweep(o: SweepOptions): Promise<SweepReport> {
  const sweepId = sweepIdOf(o);
  const pool = o.search.kind === 'grid' ? gridPoints(o.specs) : randomPoints(o.specs, o.search.n ?? Infinity, o.search.seed);
  const { ok, skipped } = buildConfigs(o.raw, pool);
  if (ok.length === 0) throw new Error(`no valid parameter combination${skipped[0] ? `: ${skipped[0].why}` : ''}`);
  const [dStart, dEnd] = dataRange(o.base, o.data, { from: o.from, to: o.to });
  const start = o.from ?? dStart;
  const end = o.to ?? dEnd;
  if (!(start < end)) throw new Error(`empty window ${isoUtc(start)} … ${isoUtc(end)}`);
  const windows: WfWindow[] = o.walkForward
    ? walkForwardWindows(start, end, o.walkForward)
    : [{ index: 0, train: [start, end], test: [end, end] }];
  if (windows.length === 0) throw new Error(`the window ${isoUtc(start)} … ${isoUtc(end)} is too short for one walk-forward window`);
  o.store.openSweep(
    sweepId,
    { specs: o.specs, search: o.search, objective: o.objective, require: o.require.map((r) => r.text), walkForward: o.walkForward ?? null },
    o.clock.now(),
  );

  const eta = o.search.kind === 'halving' ? Math.max(2, o.search.eta) : 0;
  const rungs = eta ? Math.max(1, Math.floor(Math.log(ok.length) / Math.log(eta)) + 1) : 1;
  let total = 0;
  for (let r = 0, n = ok.length; r < rungs; r++, n = Math.ceil(n / eta)) total += n * windows.length;
  if (o.walkForward) total += windows.length;
  const counter = { done: 0, total, cached: 0, runs: 0 };
  const errors: SweepReport['errors'] = [];
  const exec = async (batch: Array<{ bp: BuiltPoint; from: number; to: number; phase: string; window: number; keep: boolean }>) =>
    runBatch(o, sweepId, batch, counter, errors);

  // Train phase (or the whole window): successive halving keeps the best 1/eta on ever longer spans.
  let alive = windows.map(() => ok);
  let bestPerWindow: Ranked[][] = windows.map(() => []);
  for (let r = 0; r < rungs; r++) {
    const frac = eta ? eta ** (r - (rungs - 1)) : 1;
    const batch = windows.flatMap((w) =>
      alive[w.index]!.map((bp) => {
        const from = r === rungs - 1 ? w.train[0] : Math.floor(w.train[1] - (w.train[1] - w.train[0]) * frac);
        return {
          bp,
          from,
          to: w.train[1],
          phase: rungs > 1 ? `train-r${r}` : o.walkForward ? 'train' : 'full',
          window: w.index,
          keep: false,
        };
      }),
    );
    const got = await exec(batch);
    bestPerWindow = windows.map((w) =>
      rank(
        o,
        batch.filter((b) => b.window === w.index).map((b) => [b.bp, got.get(b)] as const),
      ),
    );
    if (r < rungs - 1)
      alive = bestPerWindow.map((ranked) =>
        ranked.slice(0, Math.ceil(ranked.length / eta)).map((x) => ok.find((b) => b.point === x.point)!),
      );
  }

  const reports: WindowReport[] = windows.map((w) => ({
    index: w.index,
    train: w.train,
    test: o.walkForward ? w.test : null,
    best: bestPerWindow[w.index]![0] ?? null,
    oos: null,
  }));
  let stitched: Stitched | null = null;
  let gap: SweepReport['gap'] = null;
  if (o.walkForward) {
    const batch = reports
      .filter((w) => w.best !== null)
      .map((w) => ({
        bp: ok.find((b) => b.point === w.best!.point)!,
        from: w.test![0],
        to: w.test![1],
        phase: 'test',
        window: w.index,
        keep: true,
      }));
    const got = await exec(batch);
    const tests: RunResult[] = [];
    for (const b of batch) {
      const res = got.get(b);
      if (!res) continue;
      const rep = reports[b.window]!;
      rep.oos = {
        figures: res.figures,
        objective: objectiveValue(res.figures, o.objective),
        passed: failedRuleTexts(res.figures, o.require).length === 0,
      };
      if (res.result) tests.push(res.result as RunResult);
    }
    stitched = tests.length ? stitch(tests, o.base.exchange.paper.startingBalance[quoteOf(o.base.market.symbols)] ?? 0) : null;
    gap = gapOf(reports, o.objective, stitched);
  }
  if (errors.length === 0) o.store.finishSweep(sweepId, o.clock.now());
  return {
    sweepId,
    objective: o.objective,
    points: ok.length,
    skipped,
    runs: counter.runs,
    cached: counter.cached,
    errors,
    ranking: o.walkForward ? [] : (bestPerWindow[0] ?? []),
    rankings: bestPerWindow,
    windows: reports,
    stitched,
    gap,
  };
}

interface Got {
  figures: RunFigures;
  result: unknown;
}

async function runBatch<B extends { bp: BuiltPoint; from: number; to: number; phase: string; window: number; keep: boolean }>(
  o: SweepOptions,
  sweepId: string,
  batch: B[],
  counter: { done: number; total: number; cached: number; runs: number },
  errors: SweepReport['errors'],
): Promise<Map<B, Got>> {
  const out = new Map<B, Got>();
  const byId = new Map<string, B[]>();
  const jobs: RunJob[] = [];
  for (const b of batch) {
    const runId = sha({ sweepId, point: b.bp.point, from: b.from, to: b.to, keep: b.keep });
    const row = o.store.row(runId);
    if (row) {
      out.set(b, { figures: row.figures, result: row.result });
      counter.cached++;
      counter.done++;
      continue;
    }
    const same = byId.get(runId);
    if (same) {
      same.push(b);
      continue;
    }
    byId.set(runId, [b]);
    jobs.push({ runId, config: b.bp.config, data: o.data, funding: o.funding, from: b.from, to: b.to, keepCurve: b.keep });
  }
  o.progress?.(counter.done, counter.total);
  await o.executor.run(jobs, (res: JobOutcome) => {
    const bs = byId.get(res.runId);
    if (!bs) return;
    const b = bs[0]!;
    if (res.result) {
      const figures = slim(res.result);
      const result = b.keep ? res.result : null;
      o.store.put(
        {
          runId: res.runId,
          sweepId,
          phase: b.phase,
          window: b.window,
          params: b.bp.point,
          from: b.from,
          to: b.to,
          figures,
          result,
          elapsedMs: res.elapsedMs,
          worker: res.worker,
        },
        o.clock.now(),
      );
      for (const x of bs) out.set(x, { figures, result });
      counter.runs++;
    } else errors.push({ point: b.bp.point, error: res.error ?? 'no result' });
    counter.done += bs.length;
    o.progress?.(counter.done, counter.total);
  });
  return out;
}

/** Passing runs first, then by objective (higher is better); ties keep the grid order. */
function rank(o: SweepOptions, rows: ReadonlyArray<readonly [BuiltPoint, Got | undefined]>): Ranked[] {
  const ranked: Ranked[] = [];
  for (const [bp, got] of rows) {
    if (!got) continue;
    const failed = failedRuleTexts(got.figures, o.require);
    const v = objectiveValue(got.figures, o.objective);
    ranked.push({
      point: bp.point,
      figures: got.figures,
      objective: Number.isNaN(v) ? -Infinity : v,
      passed: failed.length === 0,
      failed,
    });
  }
  return ranked
    .map((r, i) => ({ r, i }))
    .sort((a, b) => Number(b.r.passed) - Number(a.r.passed) || cmp(b.r.objective, a.r.objective) || a.i - b.i)
    .map((x) => x.r);
}

const cmp = (a: number, b: number): number => (a > b ? 1 : a < b ? -1 : 0);
