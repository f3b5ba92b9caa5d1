// The research commands' actions (backtest --config, sweep, worker, stress, select); commands.ts
// declares them. Heavy modules (echarts, piscina, BullMQ) load only inside the command that needs them.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { deepMerge, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { WallClock } from '../core/clock.ts';
import { parseRules, RULE_METRICS, type MetricRule, type RuleMetric } from '../core/metric-rules.ts';
import { ENSEMBLE_FILE } from '../models/open.ts';
import { isModelStrategy } from '../models/wire.ts';
import { parseDataArg } from './data.ts';
import { defaultWorkers, InlineExecutor, type Executor } from './jobs.ts';
import { figure, OBJECTIVES, type Objective, type RunFigures } from './objective.ts';
import { parseParam, pointLabel, validateSpecs } from './params.ts';
import { csvCell, day, exitsLine, num, paramsText, pct, table, when } from './print.ts';
import type { RunResult } from './run-config.ts';
import type { ModelRunResult } from './model-run.ts';
import type { ModelSelection } from './model-select.ts';
import type { Verdict } from './select.ts';
import { gapMetric, type Search, type SweepReport } from './sweep.ts';
import { parseWalkForward } from './walk-forward.ts';
import { counted } from '../core/format.ts';
import { cagrText } from '../engine/cagr-span.ts';
import { dataIssuesText } from '../market/data-issues.ts';

/** The config file as written (sweeps set values on it, then validate), and validated. */
export function readConfig(file: string): { raw: Record<string, unknown>; config: Config } {
  const config = loadConfig(file);
  const text = readFileSync(file, 'utf8');
  const raw = ((file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {}) as Record<string, unknown>;
  return { raw, config };
}

function requireRules(specs: readonly string[] | undefined): MetricRule[] {
  try {
    return parseRules((specs ?? []).flatMap((s) => s.split(',')));
  } catch (e) {
    throw new Error(`--require: ${(e as Error).message}`);
  }
}

/** A progress bar with ETA on a terminal (cli-progress), plain lines otherwise. */
async function progressReporter(label: string): Promise<{ update: (done: number, total: number) => void; stop: () => void }> {
  if (process.stderr.isTTY) {
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar(
      { format: `${label} [{bar}] {value}/{total} runs | {percentage}% | ETA {eta_formatted}`, stream: process.stderr, etaBuffer: 50 },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else bar.update(done);
      },
      stop: () => started && bar.stop(),
    };
  }
  const clock = new WallClock();
  let last = -1;
  let lastAt = 0;
  const t0 = clock.now();
  return {
    update(done, total) {
      const now = clock.now();
      const step = Math.floor((done / Math.max(1, total)) * 10);
      if (done !== total && step === last && now - lastAt < 10_000) return;
      last = step;
      lastAt = now;
      const eta = done > 0 ? ((now - t0) / done) * (total - done) : NaN;
      process.stderr.write(
        `${label}: ${done}/${total} runs${Number.isFinite(eta) && done < total ? `, ETA ${Math.ceil(eta / 1000)} s` : ''}\n`,
      );
    },
    stop() {},
  };
}

async function executorFor(o: { workers?: number; queue?: string }): Promise<Executor> {
  if (o.queue) {
    const { QueueExecutor } = await import('./queue.ts');
    return QueueExecutor.connect(o.queue);
  }
  const n = o.workers ?? defaultWorkers();
  if (n <= 1) return new InlineExecutor();
  const { createPoolExecutor } = await import('./jobs.ts');
  return createPoolExecutor(n);
}

// ---- backtest --config ------------------------------------------------------------------------

export interface BacktestConfigArgs {
  config: string;
  data: string;
  from?: number;
  to?: number;
  funding?: string;
  report?: string;
  chart?: string;
  json?: boolean;
}

export async function backtestConfig(o: BacktestConfigArgs): Promise<void> {
  const config = loadConfig(o.config);
  const { runConfigBacktest } = await import('./run-config.ts');
  const data = parseDataArg(o.data, config.market.symbols);
  const funding = o.funding ? parseDataArg(o.funding, config.market.symbols) : undefined;
  const run = { config, data, from: o.from, to: o.to, funding };
  const r: RunResult & { models?: ModelRunResult['models'] } = isModelStrategy(config.strategy.name)
    ? await (await import('./model-run.ts')).runModelConfigBacktest(run)
    : runConfigBacktest(run);
  if (o.report) {
    const { writeHtmlReport } = await import('./report-html.ts');
    writeHtmlReport(o.report, r, { title: `Backtest of ${o.config}`, data });
  }
  if (o.chart) {
    const { equityDrawdownPng } = await import('./charts.ts');
    writeFileSync(o.chart, await equityDrawdownPng(r, `${r.strategy} on ${r.symbols.join(', ')} ${r.timeframe}`));
  }
  if (o.json) {
    const { equity: _e, daily: _d, trades: _t, ...rest } = r;
    process.stdout.write(
      JSON.stringify({ ...rest, elapsed_ms: Number(r.elapsed_ms.toFixed(3)), bars_per_sec: Math.round(r.bars_per_sec) }) + '\n',
    );
    return;
  }
  process.stdout.write(backtestText(r) + '\n');
  if (r.models)
    process.stdout.write(
      `models: ${r.models.map((m) => `${m.name} v${m.version}${m.perCandle ? ' (per candle: reads its position)' : ''}`).join(', ')}\n`,
    );
  if (o.report) process.stdout.write(`report: ${o.report}\n`);
  if (o.chart) process.stdout.write(`chart: ${o.chart}\n`);
}

const nonNull = <T>(x: T | null): T[] => (x === null ? [] : [x]);

export function backtestText(r: RunResult): string {
  const m = r.metrics;
  const lines = [
    `${r.symbols.join(', ')} ${r.timeframe} ${r.strategy} ${paramsText(r.params)}, ${when(r.from)} … ${when(r.to)}`,
    `bars ${r.bars} (${r.rejected_bars} rejected), fills ${r.fills}, trades ${m.trades}`,
    ...nonNull(dataIssuesText(r.data_issues, r.timeframe)),
    `final equity ${r.final_equity.toFixed(2)} (total return ${pct(m.total_return)}, ${cagrText(m.cagr)})`,
    `sharpe ${num(m.sharpe)}, sortino ${num(m.sortino)}, calmar ${m.calmar === null ? 'n/a' : num(m.calmar)}, max drawdown ${pct(m.max_drawdown)}, worst day ${pct(r.worst_day)}, longest under water ${num(r.time_under_water, 1)} days`,
    `win rate ${pct(m.win_rate, 1)}, profit factor ${num(m.profit_factor)}, expectancy ${num(m.expectancy)}, exposure ${pct(m.exposure, 1)}, fees ${num(m.fees)}`,
    `breaker trips ${r.breaker_trips}, daily-drawdown halts ${r.halts}, liquidations ${r.liquidations.length}, funding ${num(r.funding.total)} (${r.funding.payments} payments)`,
  ];
  if (m.trades > 0) lines.push(`exits: ${exitsLine(r.exits)}`);
  const rej = Object.entries(r.rejections).sort((a, b) => b[1] - a[1]);
  if (rej.length) lines.push(`risk rejections: ${rej.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.symbols.length > 1)
    lines.push(
      table(
        ['symbol', 'bars', 'fills', 'trades', 'win', 'net PnL', 'fees'],
        Object.entries(r.per_symbol).map(([s, x]) => [
          s,
          String(x.bars),
          String(x.fills),
          String(x.trades),
          String(x.wins),
          num(x.net_pnl),
          num(x.fees),
        ]),
      ),
    );
  lines.push(`${r.elapsed_ms.toFixed(1)} ms, ${Math.round(r.bars_per_sec).toLocaleString('en-US')} bars/s`);
  return lines.join('\n');
}

// ---- sweep ------------------------------------------------------------------------------------

export interface SweepArgs {
  config: string;
  data: string;
  funding?: string;
  from?: number;
  to?: number;
  param?: string[];
  random?: number;
  seed: number;
  adaptive?: boolean;
  eta: number;
  objective?: string;
  require?: string[];
  walkForward?: string;
  anchored?: boolean;
  results: string;
  workers?: number;
  queue?: string;
  json?: boolean;
  out?: string;
  heatmap?: string;
  top: number;
}

/** A results file this command created and that holds no run is removed when the command is refused: bad input changes nothing. */
function discardIfFresh(store: import('./store.ts').ResultsStore, fresh: boolean): void {
  if (!fresh || store.path === ':memory:' || !store.isEmpty()) return;
  store.close();
  for (const f of [store.path, `${store.path}-wal`, `${store.path}-shm`]) rmSync(f, { force: true });
}

export async function sweepCommand(o: SweepArgs): Promise<number> {
  const { raw, config } = readConfig(o.config);
  const objective = objectiveOf(o.objective, config);
  const specs = (o.param ?? []).map(parseParam);
  if (specs.length === 0) throw new Error('give at least one --param path=a:b:step or path=v1,v2');
  validateSpecs(raw, specs);
  const rules = requireRules(o.require);
  const wf = o.walkForward ? parseWalkForward(o.walkForward, o.anchored ?? false) : undefined;
  const search: Search = o.adaptive
    ? { kind: 'halving', eta: o.eta, seed: o.seed, ...(o.random ? { n: o.random } : {}) }
    : o.random
      ? { kind: 'random', n: o.random, seed: o.seed }
      : { kind: 'grid' };
  const { ResultsStore } = await import('./store.ts');
  const { runSweep } = await import('./sweep.ts');
  const fresh = !existsSync(o.results);
  const store = new ResultsStore(o.results);
  const executor = await executorFor(o);
  const progress = await progressReporter('sweep');
  let report: SweepReport;
  try {
    report = await runSweep({
      raw,
      base: config,
      data: parseDataArg(o.data, config.market.symbols),
      funding: o.funding ? parseDataArg(o.funding, config.market.symbols) : undefined,
      from: o.from,
      to: o.to,
      specs,
      search,
      objective,
      require: rules,
      walkForward: wf,
      store,
      executor,
      clock: new WallClock(),
      progress: progress.update,
    });
  } catch (e) {
    discardIfFresh(store, fresh);
    throw e;
  } finally {
    progress.stop();
    await executor.close();
  }
  try {
    if (o.out) writeFileSync(o.out, resultsCsv(store.runs(report.sweepId)));
    if (o.heatmap) {
      if (specs.length < 2) throw new Error('--heatmap needs two --param');
      const { heatmapPng } = await import('./charts.ts');
      writeFileSync(o.heatmap, await heatmapPng(report, specs[0]!, specs[1]!));
    }
  } finally {
    store.close();
  }
  if (o.json)
    process.stdout.write(
      JSON.stringify({ ...report, stitched: report.stitched && { ...report.stitched, equity: undefined }, rankings: undefined }) + '\n',
    );
  else process.stdout.write(sweepText(report, o.top, o.results) + '\n');
  if (report.errors.length) {
    process.stderr.write(`${counted(report.errors.length, 'run')} failed, first: ${report.errors[0]!.error}\n`);
    return 1;
  }
  return 0;
}

function resultsCsv(rows: ReturnType<import('./store.ts').ResultsStore['runs']>): string {
  const paramKeys = [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
  const head = ['run_id', 'phase', 'window', 'from', 'to', ...paramKeys, ...RULE_METRICS];
  // A run with no losing trade has no profit factor: an empty cell, not the Infinity a rule compares.
  const cell = (f: RunFigures, k: RuleMetric) => (k === 'profit_factor' ? f.metrics.profit_factor : figure(f, k));
  const lines = rows.map((r) =>
    [
      r.runId,
      r.phase,
      r.window,
      new Date(r.from).toISOString(),
      new Date(r.to).toISOString(),
      ...paramKeys.map((k) => r.params[k]),
      ...RULE_METRICS.map((k) => cell(r.figures, k)),
    ]
      .map(csvCell)
      .join(','),
  );
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** A ranking figure as the tables show it: returns and drawdowns in %, ratios as numbers. */
const figureText = (metric: string, v: number | undefined): string =>
  metric === 'return' || metric === 'cagr' || metric === 'max_drawdown' ? pct(v) : num(v);

export function sweepText(r: SweepReport, top: number, file: string): string {
  const out: string[] = [];
  out.push(
    `sweep ${r.sweepId}: ${counted(r.points, 'parameter set')}${r.skipped.length ? ` (${counted(r.skipped.length, 'combination')} skipped: ${r.skipped[0]!.why})` : ''}; ${counted(r.runs, 'run')} now, ${r.cached} from ${file}`,
  );
  if (r.windows.length && r.windows[0]!.test === null) {
    // The objective first; a figure column that would repeat it (return, sharpe) is left out.
    const byReturn = r.objective === 'return';
    const second = r.objective === 'sharpe' ? 'sortino' : 'sharpe';
    out.push(
      table(
        ['#', 'parameters', r.objective, ...(byReturn ? [] : ['return']), 'max DD', second, 'trades', 'rules'],
        r.ranking
          .slice(0, top)
          .map((x, i) => [
            String(i + 1),
            pointLabel(x.point),
            figureText(r.objective, x.objective),
            ...(byReturn ? [] : [pct(x.figures.metrics.total_return)]),
            pct(x.figures.metrics.max_drawdown),
            num(x.figures.metrics[second]),
            String(x.figures.metrics.trades),
            x.passed ? 'pass' : `fail: ${x.failed.join(' ')}`,
          ]),
      ),
    );
    return out.join('\n');
  }
  const g = r.gap?.metric ?? gapMetric(r.objective);
  out.push(
    `IS = the chosen parameters on their train window, OOS = on the unseen test window that follows; the gap is the mean per-window ${g} ` +
      `in sample minus the mean per-window ${g} out of sample${g !== r.objective ? ` (${g}: windows differ in length)` : ''}; the stitched line is the test windows joined into one curve.`,
  );
  out.push(
    table(
      [
        'window',
        'train',
        'test',
        'chosen parameters',
        `IS ${r.objective}`,
        `OOS ${r.objective}`,
        ...(r.objective === 'return' ? [] : ['OOS return']),
        'OOS max DD',
        'OOS rules',
      ],
      r.windows.map((w) => [
        String(w.index + 1),
        `${day(w.train[0])}…${day(w.train[1])}`,
        w.test ? `${day(w.test[0])}…${day(w.test[1])}` : '',
        w.best ? pointLabel(w.best.point) : '—',
        figureText(r.objective, w.best?.objective),
        figureText(r.objective, w.oos?.objective),
        ...(r.objective === 'return' ? [] : [pct(w.oos?.figures.metrics.total_return)]),
        pct(w.oos?.figures.metrics.max_drawdown),
        w.oos ? (w.oos.passed ? 'pass' : 'fail') : '—',
      ]),
    ),
  );
  if (r.stitched)
    out.push(
      `out of sample (stitched): return ${pct(r.stitched.total_return)}, ${cagrText(r.stitched.cagr)}, sharpe ${num(r.stitched.sharpe)}, max drawdown ${pct(r.stitched.max_drawdown)}, trades ${r.stitched.trades}, win rate ${pct(r.stitched.win_rate, 1)}`,
    );
  if (r.gap)
    out.push(
      `gap, mean of ${counted(r.gap.windows, 'window')}: in-sample ${r.gap.metric} ${figureText(r.gap.metric, r.gap.inSample)} vs out-of-sample ${figureText(r.gap.metric, r.gap.outOfSample)}: gap ${figureText(r.gap.metric, r.gap.diff)}${r.gap.diff > Math.abs(r.gap.inSample) / 2 ? ' (large: likely overfit)' : ''}` +
        (r.gap.stitched !== null ? `; the stitched curve's ${r.gap.metric}: ${figureText(r.gap.metric, r.gap.stitched)}` : ''),
    );
  return out.join('\n');
}

function objectiveOf(name: string | undefined, config: Config): Objective {
  const o = name ?? config.research.objective;
  if (!(OBJECTIVES as readonly string[]).includes(o)) throw new Error(`--objective ${o}: one of ${OBJECTIVES.join(', ')}`);
  return o as Objective;
}

// ---- stress -----------------------------------------------------------------------------------

export interface StressArgs {
  /** Undefined: the embedded defaults, as `skipper run` without a config. */
  config?: string;
  dataDir?: string;
  require?: string[];
  charts?: string;
  workers?: number;
  json?: boolean;
}

export async function stressCommand(o: StressArgs): Promise<number> {
  const config = loadConfig(o.config);
  const rules = requireRules(o.require);
  const { planStress, runStress, scanDataDir, fileName, unchangedByShock } = await import('./stress.ts');
  const dir = o.dataDir ?? '../shared/data';
  let files;
  try {
    files = scanDataDir(dir);
  } catch (e) {
    throw new Error(`--data-dir ${dir}: ${(e as Error).message}`);
  }
  const plan = planStress(config, files);
  if (plan.cases.length === 0)
    throw new Error(`no data in ${dir} for ${config.market.symbols.join(', ')} at ${config.market.timeframe} or finer`);
  const executor = await executorFor({ workers: Math.min(o.workers ?? defaultWorkers(), plan.cases.length) });
  let rows;
  try {
    rows = await runStress(plan, executor);
  } finally {
    await executor.close();
  }
  const { failedRuleTexts } = await import('./objective.ts');
  const fails = rows.map((r) => (r.result ? failedRuleTexts(r.result, rules) : ['error']));
  if (o.charts) {
    const { mkdirSync } = await import('node:fs');
    const { windowPng } = await import('./charts.ts');
    mkdirSync(o.charts, { recursive: true });
    for (const r of rows)
      if (r.result)
        writeFileSync(
          `${o.charts}/${r.case.id}-${r.case.symbol.replace('/', '')}.png`,
          await windowPng(r.result, `${r.case.name}: ${r.case.symbol}`),
        );
  }
  if (o.json) {
    process.stdout.write(
      JSON.stringify({
        rows: rows.map((r, i) => ({
          kind: r.case.kind,
          id: r.case.id,
          name: r.case.name,
          symbol: r.case.symbol,
          file: r.case.file,
          from: r.case.from,
          to: r.case.to,
          error: r.error,
          failed: fails[i],
          result: r.result && { ...r.result, equity: undefined, daily: undefined, trades: undefined },
        })),
        uncovered: plan.uncovered,
      }) + '\n',
    );
  } else {
    process.stdout.write(
      table(
        [
          'window',
          'symbol',
          'data',
          'PnL',
          'return',
          'max DD',
          'worst day',
          'trades',
          'breaker',
          'halts',
          'liq.',
          'under water',
          ...(rules.length ? ['rules'] : []),
        ],
        rows.map((r, i) => {
          const x = r.result;
          if (!x) return [r.case.name, r.case.symbol, fileName(r.case.file), `error: ${r.error}`];
          return [
            r.case.name,
            r.case.symbol,
            `${fileName(r.case.file)} ${day(r.case.from)}…${day(r.case.to)}`,
            num(x.final_equity - x.metrics.start_equity),
            pct(x.metrics.total_return),
            pct(x.metrics.max_drawdown),
            pct(x.worst_day),
            String(x.metrics.trades),
            String(x.breaker_trips),
            String(x.halts),
            String(x.liquidations.length),
            `${num(x.time_under_water, 1)} d`,
            ...(rules.length ? [fails[i]!.length ? `fail: ${fails[i]!.join(' ')}` : 'pass'] : []),
          ];
        }),
      ) + '\n',
    );
    for (const n of unchangedByShock(rows)) process.stdout.write(`${n}\n`);
    for (const u of plan.uncovered) process.stdout.write(`not covered: ${u}\n`);
    if (o.charts) process.stdout.write(`charts: ${o.charts}/\n`);
  }
  const failed = fails.filter((f) => f.length > 0).length;
  if (failed && rules.length) process.stderr.write(`${failed} of ${counted(rows.length, 'stress case')} fail --require\n`);
  return failed && (rules.length || rows.some((r) => r.error)) ? 1 : 0;
}

// ---- select -----------------------------------------------------------------------------------

export interface SelectArgs {
  config: string;
  data: string;
  from?: number;
  to?: number;
  candidates?: string;
  ensembleOut?: string;
  param?: string[];
  rules?: string;
  objective?: string;
  walkForward?: string;
  anchored?: boolean;
  results: string;
  workers?: number;
  queue?: string;
  json?: boolean;
}

export async function selectCommand(o: SelectArgs): Promise<number> {
  const { raw, config } = readConfig(o.config);
  const { select, candidatesFrom, verdictLabel } = await import('./select.ts');
  const models = o.candidates ? (await import('./model-candidates.ts')).modelFolders(o.candidates) : [];
  const overlays = o.candidates === undefined || !models.length || hasOverlays(o.candidates);
  const candidates = !overlays ? [] : o.candidates ? candidatesFrom(o.candidates) : [{ name: 'config', overlay: {} }];
  const specs = (o.param ?? []).map(parseParam);
  for (const c of candidates) validateSpecs(deepMerge(raw, c.overlay), specs);
  let rules: MetricRule[];
  try {
    rules = parseRules(o.rules ?? config.research.rules);
  } catch (e) {
    throw new Error(`--rules: ${(e as Error).message}`);
  }
  const objective = objectiveOf(o.objective, config);
  const { ResultsStore } = await import('./store.ts');
  const fresh = !existsSync(o.results);
  const store = new ResultsStore(o.results);
  const executor = await executorFor(o);
  const progress = await progressReporter('select');
  let verdicts: Verdict[] = [];
  let picked: ModelSelection | null = null;
  try {
    if (models.length > 0) {
      const { selectModels } = await import('./model-select.ts');
      picked = await selectModels({
        raw,
        dirs: models,
        data: parseDataArg(o.data, config.market.symbols),
        from: o.from,
        to: o.to,
        rules,
        objective,
        ensembleFile: o.ensembleOut ?? join(dirname(models[0]!), ENSEMBLE_FILE),
        progress: progress.update,
      });
    }
    if (candidates.length > 0)
      verdicts = await select({
        raw,
        candidates,
        data: parseDataArg(o.data, config.market.symbols),
        from: o.from,
        to: o.to,
        specs,
        objective,
        require: [],
        rules,
        walkForward: o.walkForward ? parseWalkForward(o.walkForward, o.anchored ?? false) : undefined,
        store,
        executor,
        clock: new WallClock(),
        progress: progress.update,
      });
  } catch (e) {
    discardIfFresh(store, fresh);
    throw e;
  } finally {
    progress.stop();
    await executor.close();
    store.close();
  }
  if (o.json)
    process.stdout.write(
      JSON.stringify({ rules: rules.map((r) => r.text), objective, verdicts, ...(picked ? { models: picked } : {}) }) + '\n',
    );
  else if (candidates.length === 0) process.stdout.write(`rules: ${rules.map((r) => r.text).join(', ')}\n`);
  else {
    process.stdout.write(
      `rules: ${rules.map((r) => r.text).join(', ')}${o.walkForward ? ` (out of sample, walk-forward ${o.walkForward})` : ''}\n`,
    );
    process.stdout.write(verdictTable('candidate', verdicts, verdictLabel, objective) + '\n');
    const ok = verdicts.filter((v) => v.passed);
    process.stdout.write(ok.length ? `${ok.length} pass every rule: ${ok.map(verdictLabel).join('; ')}\n` : 'none passes every rule\n');
  }
  if (picked && !o.json) process.stdout.write(modelSelectionText(picked, objective, o.walkForward !== undefined));
  return 0;
}

/** The verdicts of `skipper select`: the objective first, then the figures that are not it. */
function verdictTable(
  what: string,
  verdicts: readonly Verdict[],
  label: (v: Verdict) => string,
  objective: Objective,
  numbered = true,
): string {
  const figures: Array<[string, string, (v: Verdict) => string]> = [
    ['CAGR', 'cagr', (v) => pct(v.figures.metrics.cagr)],
    ['max DD', 'max_drawdown', (v) => pct(v.figures.metrics.max_drawdown)],
    ['sharpe', 'sharpe', (v) => num(v.figures.metrics.sharpe)],
    ['win rate', 'win_rate', (v) => pct(v.figures.metrics.win_rate, 1)],
  ];
  const shown = figures.filter(([, metric]) => metric !== objective);
  return table(
    ['#', what, objective, ...shown.map(([head]) => head), 'trades', 'verdict'],
    verdicts.map((v, i) => [
      numbered ? String(i + 1) : '—',
      label(v),
      figureText(objective, v.objective),
      ...shown.map(([, , cell]) => cell(v)),
      String(v.figures.metrics.trades),
      v.passed ? 'PASS' : `fail: ${v.failed.join(' ')}`,
    ]),
  );
}

const hasOverlays = (dir: string): boolean => readdirSync(dir).some((f) => /\.(ya?ml|json)$/.test(f) && f !== ENSEMBLE_FILE);

/** The models' table, the ensemble written and its own verdict. */
function modelSelectionText(p: ModelSelection, objective: Objective, walkForward: boolean): string {
  const lines = [
    `models (each once over the window: nothing is fitted${walkForward ? ', --walk-forward does not apply' : ''}):`,
    verdictTable('model', p.verdicts, (v) => v.candidate, objective),
  ];
  for (const m of p.inSample) lines.push(`note: ${m} was trained on part of this window: its figures are not out of sample`);
  if (p.ensemble === null) lines.push('no model passes every rule: no ensemble file written');
  else {
    const e = p.ensemble;
    lines.push(
      `ensemble written: ${e.file} (${e.members.map((m) => `${m.model} ×${m.weight}`).join(', ')})${e.previous ? `; the previous one kept as ${e.previous}` : ''}`,
      verdictTable('model', [e.verdict], (v) => v.candidate, objective, false),
    );
  }
  return lines.join('\n') + '\n';
}

/** `skipper worker`. */
export async function workerCommand(o: { queue: string; concurrency?: number; lockMs: number }): Promise<void> {
  const { runQueueWorker } = await import('./queue.ts');
  await runQueueWorker({ url: o.queue, concurrency: o.concurrency ?? defaultWorkers(), lockMs: o.lockMs });
}
