// Research throughput and memory (issue 11), on the compiled build: `backtest --config` with the
// default config, a 64-set sweep on 1 vs 2 worker threads, and the parent's RSS during a 1,000-run
// sweep. Each figure is printed beside a baseline measured in the same run; nothing asserts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as LoadModule from '../src/config/load.ts';
import type * as BacktestModule from '../src/app/backtest.ts';
import { loadCandles, writeCandlesCsv } from '../src/market/csv.ts';
import { generateCandles, generateCsv } from '../src/market/generator.ts';
import type * as JobsModule from '../src/research/jobs.ts';
import type * as RunConfigModule from '../src/research/run-config.ts';
import { BTC_1M } from './backtest.ts';
import { BOT_NODE_FLAGS, shipped } from './shipped.ts';
import { median } from './data.ts';

export interface ResearchBench {
  source: string;
  candles: number;
  /** runConfigBacktest, default config (risk sizing, stops). */
  configPerSec: number;
  /** The reference backtest (issue 2) on the same candles, same run. */
  referencePerSec: number;
  /** Medians of 3 interleaved pairs; `ratio` is the median of the pairs' ratios. */
  sweep: { sets: number; oneWorkerPerSec: number; twoWorkersPerSec: number; ratio: number; ratios: number[] };
  memory: { runs: number; maxRssMb: number; baselineRuns: number; baselineMaxRssMb: number; seconds: number };
}

/** The 1m file, or seeded candles of the same size written to a temp CSV (workers read files by path). */
async function dataFile(dir: string): Promise<{ path: string; source: string }> {
  if (existsSync(BTC_1M)) return { path: BTC_1M, source: 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv' };
  const path = join(dir, 'generated-btc-1m.csv');
  await writeCandlesCsv(path, generateCandles({ count: 130_708, seed: 1, startPrice: 105_000, volatility: 0.0008 }));
  return { path, source: 'generated, seed 1 (../shared/data absent)' };
}

export async function benchResearch(runs = 5): Promise<ResearchBench> {
  const dir = mkdtempSync(join(tmpdir(), 'skipper-research-'));
  const { path, source } = await dataFile(dir);
  const { parseConfig } = await shipped<typeof LoadModule>('src/config/load.ts');
  const { runConfigBacktest } = await shipped<typeof RunConfigModule>('src/research/run-config.ts');
  const { runBacktest, REFERENCE_LIMITS } = await shipped<typeof BacktestModule>('src/app/backtest.ts');
  const { createPoolExecutor } = await shipped<typeof JobsModule>('src/research/jobs.ts');
  const config = parseConfig({ market: { symbols: ['BTC/USDT'], timeframe: '1m' } });
  const data = { 'BTC/USDT': path };
  const candles = loadCandles(path);

  // 1. backtest --config vs the reference backtest, alternating, after a warm-up of each.
  const cfgTimes: number[] = [];
  const refTimes: number[] = [];
  const ref = () =>
    runBacktest({
      candles,
      symbol: 'BTC/USDT',
      timeframe: '1m',
      strategy: 'sma-cross',
      params: { fast: 10, slow: 30 },
      cash: 10_000,
      fee: 0.001,
      qtyStep: 1e-8,
      limits: REFERENCE_LIMITS,
    }).elapsed_ms;
  const cfg = () => runConfigBacktest({ config, data, keepCurve: false }).elapsed_ms;
  cfg();
  ref();
  for (let i = 0; i < runs; i++) {
    cfgTimes.push(cfg());
    refTimes.push(ref());
  }

  // 2. 64 parameter sets, 1 then 2 worker threads (pool start-up excluded: one warm-up job each).
  const sets: Array<typeof config> = [];
  for (const fast of [4, 6, 8, 10, 12, 14, 16, 18])
    for (const slow of [30, 40, 50, 60, 70, 80, 90, 100])
      sets.push({ ...config, strategy: { ...config.strategy, params: { ...config.strategy.params, fast, slow } } });
  const sweepRate = async (workers: number): Promise<number> => {
    const ex = await createPoolExecutor(workers);
    try {
      await ex.run(
        Array.from({ length: workers }, (_, i) => ({ runId: `warm${i}`, config, data, keepCurve: false })),
        () => {},
      );
      let bars = 0;
      const t0 = performance.now();
      await ex.run(
        sets.map((c, i) => ({ runId: `s${i}`, config: c, data, keepCurve: false })),
        (o) => (bars += o.result?.bars ?? 0),
      );
      return bars / ((performance.now() - t0) / 1000);
    } finally {
      await ex.close();
    }
  };
  // Three interleaved pairs (1 worker, then 2): a single pair's ratio moved by ±5 % with the machine.
  const pairs: Array<{ one: number; two: number }> = [];
  for (let i = 0; i < 3; i++) pairs.push({ one: await sweepRate(1), two: await sweepRate(2) });
  const one = median(pairs.map((p) => p.one));
  const two = median(pairs.map((p) => p.two));
  const ratios = pairs.map((p) => p.two / p.one);

  // 3. `skipper sweep` of 1,000 small runs (2,000 candles each) vs 20, run as `npm run skipper` runs the
  // CLI (its V8 flag): the process's RSS from /proc (its worker threads included).
  const small = join(dir, 'small-1m.csv');
  await generateCsv(small, 2_000, 4);
  const cfgFile = join(dir, 'cfg.json');
  writeFileSync(cfgFile, JSON.stringify({ market: { symbols: ['BTC/USDT'], timeframe: '1m' } }));
  const sweepRss = async (slowTo: number): Promise<{ maxRssMb: number; seconds: number }> => {
    const t0 = performance.now();
    const args = [
      ...BOT_NODE_FLAGS,
      'bin/skipper.js',
      'sweep',
      '--config',
      cfgFile,
      '--data',
      `BTC/USDT=${small}`,
      '--workers',
      '2',
      '--json',
    ];
    args.push('--param', 'strategy.params.fast=2:21:1', '--param', `strategy.params.slow=30:${slowTo}:1`);
    args.push('--results', join(dir, `sweep-${slowTo}.db`));
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    let max = 0;
    const timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        if (m) max = Math.max(max, Number(m[1]) / 1024);
      } catch {
        // exited
      }
    }, 50);
    const code = await new Promise<number | null>((r) => p.on('exit', r));
    clearInterval(timer);
    if (code !== 0) throw new Error(`skipper sweep exited ${code}: ${err}`);
    return { maxRssMb: max, seconds: (performance.now() - t0) / 1000 };
  };
  const base = await sweepRss(30); // 20 × 1 = 20 runs
  const big = await sweepRss(79); // 20 × 50 = 1,000 runs

  return {
    source,
    candles: candles.length,
    configPerSec: candles.length / (median(cfgTimes) / 1000),
    referencePerSec: candles.length / (median(refTimes) / 1000),
    sweep: { sets: sets.length, oneWorkerPerSec: one, twoWorkersPerSec: two, ratio: median(ratios), ratios },
    memory: { runs: 1000, maxRssMb: big.maxRssMb, baselineRuns: 20, baselineMaxRssMb: base.maxRssMb, seconds: big.seconds },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchResearch()));
