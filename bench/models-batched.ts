// Ensemble backtest throughput, batched inference ahead of the loop, beside sma-cross on the same candles.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import { runBacktest, REFERENCE_LIMITS } from '../src/app/backtest.ts';
import { loadCandles } from '../src/market/csv.ts';
import { generateCandles } from '../src/market/generator.ts';
import { prepareModelBacktest } from '../src/models/backtest.ts';

const FILE = join(PROJECT_ROOT, '..', 'shared', 'data', 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');

export async function benchModelBacktest(): Promise<{
  source: string;
  candles: number;
  batchedPerSec: number;
  inferencePerSec: number;
  baselinePerSec: number;
}> {
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
  const t0 = performance.now();
  const p = await prepareModelBacktest({ strategy: 'ensemble', dir: join(PROJECT_ROOT, 'models') }, 'BTC/USDT', 60_000, candles);
  const r = runBacktest({ ...base, strategy: 'ensemble', strategyImpl: p.strategy });
  const total = (performance.now() - t0) / 1000;
  await p.close();
  return {
    source: real ? 'BTC/USDT 1m 2025-05-20…08-18' : 'generated (../shared/data absent)',
    candles: r.bars,
    batchedPerSec: candles.length / total,
    inferencePerSec: candles.length / (p.inferenceMs / 1000),
    baselinePerSec: baseline.bars_per_sec,
  };
}
