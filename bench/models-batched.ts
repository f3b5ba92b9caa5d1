// Ensemble backtest throughput on the 130,708-candle BTC 1m file: batched inference ahead of the loop, and
// every member run per candle (the path of a policy reading its position), beside sma-cross on the same candles.
// The compiled build (dist/), as the other throughput benches, each run in a fresh process with the bot's V8
// flags, as `skipper backtest` runs it. Inside bench/run.ts, on the heap and type feedback the four sections
// before it leave, the batched figure read 213 k where fresh processes read 265–277 k (same build, same
// hour; the flags made no difference). `node --import tsx bench/models-batched.ts` runs one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import type * as BacktestModule from '../src/app/backtest.ts';
import { loadCandles } from '../src/market/csv.ts';
import { generateCandles } from '../src/market/generator.ts';
import type * as ModelBacktestModule from '../src/models/backtest.ts';
import { BOT_NODE_FLAGS, shipped } from './shipped.ts';
import { BTC_1M, median } from './data.ts';

export interface ModelBacktestBench {
  source: string;
  candles: number;
  batchedPerSec: number;
  inferencePerSec: number;
  perCandlePerSec: number;
  baselinePerSec: number;
  sameFills: boolean;
}

/** `runs` fresh processes; the median of each figure. */
export function benchModelBacktest(runs = 3): ModelBacktestBench {
  const out: ModelBacktestBench[] = [];
  for (let i = 0; i < runs; i++) {
    const p = spawnSync(process.execPath, [...BOT_NODE_FLAGS, '--import', 'tsx', 'bench/models-batched.ts'], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`bench/models-batched.ts failed: ${p.stderr.split('\n').slice(-5).join(' ')}`);
    out.push(JSON.parse(p.stdout.trim().split('\n').pop()!) as ModelBacktestBench);
  }
  const med = (k: 'batchedPerSec' | 'inferencePerSec' | 'perCandlePerSec' | 'baselinePerSec') => median(out.map((r) => r[k]));
  return {
    source: out[0]!.source,
    candles: out[0]!.candles,
    batchedPerSec: med('batchedPerSec'),
    inferencePerSec: med('inferencePerSec'),
    perCandlePerSec: med('perCandlePerSec'),
    baselinePerSec: med('baselinePerSec'),
    sameFills: out.every((r) => r.sameFills),
  };
}

/** One measurement, in this process. */
async function modelBacktestOnce(): Promise<ModelBacktestBench> {
  const { runBacktest, runBacktestPerCandle, REFERENCE_LIMITS } = await shipped<typeof BacktestModule>('src/app/backtest.ts');
  const { prepareModelBacktest } = await shipped<typeof ModelBacktestModule>('src/models/backtest.ts');
  const real = existsSync(BTC_1M);
  const candles = real ? loadCandles(BTC_1M) : generateCandles({ count: 130_708, seed: 1, startTs: Date.UTC(2025, 4, 20) });
  const base = {
    candles,
    symbol: 'BTC/USDT',
    timeframe: '1m' as const,
    params: {},
    cash: 10_000,
    fee: 0.001,
    qtyStep: 0.00001,
    limits: REFERENCE_LIMITS,
  };
  const baseline = runBacktest({ ...base, strategy: 'sma-cross' });
  const dir = join(PROJECT_ROOT, 'models');
  const t0 = performance.now();
  const p = await prepareModelBacktest({ strategy: 'ensemble', dir }, 'BTC/USDT', 60_000, candles);
  const r = runBacktest({ ...base, strategy: 'ensemble', strategyImpl: p.strategy });
  const total = (performance.now() - t0) / 1000;
  await p.close();
  const t1 = performance.now();
  const one = await prepareModelBacktest({ strategy: 'ensemble', dir, batch: false }, 'BTC/USDT', 60_000, candles);
  const r1 = await runBacktestPerCandle({ ...base, strategy: 'ensemble', strategyImpl: one.strategy });
  const perCandleSec = (performance.now() - t1) / 1000;
  await one.close();
  return {
    source: real ? 'BTC/USDT 1m 2025-05-20…08-18' : 'generated (../shared/data absent)',
    candles: r.bars,
    batchedPerSec: candles.length / total,
    inferencePerSec: candles.length / (p.inferenceMs / 1000),
    perCandlePerSec: candles.length / perCandleSec,
    baselinePerSec: baseline.bars_per_sec,
    sameFills: r.fills === r1.fills && r.final_equity === r1.final_equity,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(JSON.stringify(await modelBacktestOnce()) + '\n');
