// Ensemble backtest throughput on the 130,708-candle BTC 1m file: batched inference ahead of the loop, and
// every member run per candle (the path of a policy reading its position), beside sma-cross on the same candles.
// The compiled build (dist/), as the other throughput benches.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import type * as BacktestModule from '../src/app/backtest.ts';
import { loadCandles } from '../src/market/csv.ts';
import { generateCandles } from '../src/market/generator.ts';
import type * as ModelBacktestModule from '../src/models/backtest.ts';
import { shipped } from './shipped.ts';

const FILE = join(PROJECT_ROOT, '..', 'shared', 'data', 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');

export async function benchModelBacktest(): Promise<{
  source: string;
  candles: number;
  batchedPerSec: number;
  inferencePerSec: number;
  perCandlePerSec: number;
  baselinePerSec: number;
  sameFills: boolean;
}> {
  const { runBacktest, runBacktestPerCandle, REFERENCE_LIMITS } = await shipped<typeof BacktestModule>('src/app/backtest.ts');
  const { prepareModelBacktest } = await shipped<typeof ModelBacktestModule>('src/models/backtest.ts');
  const real = existsSync(FILE);
  const candles = real ? loadCandles(FILE) : generateCandles({ count: 130_708, seed: 1, startTs: Date.UTC(2025, 4, 20) });
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
