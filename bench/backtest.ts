// Backtest throughput through the full engine path (validation, strategy, risk, paper fills, journal
// of fills) on the 130,708-candle BTC 1m file, or generated data of the same size when it's absent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import type * as BacktestModule from '../src/app/backtest.ts';
import { loadCandles } from '../src/market/csv.ts';
import { shipped } from './shipped.ts';
import { generateCandles } from '../src/market/generator.ts';

export const BTC_1M = join(PROJECT_ROOT, '../shared/data/binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');

export interface BacktestBench {
  source: string;
  candles: number;
  fills: number;
  runs: number[];
  medianPerSec: number;
  bestPerSec: number;
}

export async function benchBacktest(runs = 9): Promise<BacktestBench> {
  const { runBacktest, REFERENCE_LIMITS } = await shipped<typeof BacktestModule>('src/app/backtest.ts');
  const real = existsSync(BTC_1M);
  const candles = real ? loadCandles(BTC_1M) : generateCandles({ count: 130_708, seed: 1, startPrice: 105_000, volatility: 0.0008 });
  const once = () =>
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
    });
  for (let i = 0; i < 3; i++) once(); // warm-up (JIT)
  const times: number[] = [];
  let fills = 0;
  for (let i = 0; i < runs; i++) {
    const r = once();
    times.push(r.elapsed_ms);
    fills = r.fills;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    source: real ? 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv' : 'generated (../shared/data absent)',
    candles: candles.length,
    fills,
    runs: times,
    medianPerSec: candles.length / (median / 1000),
    bestPerSec: candles.length / (sorted[0]! / 1000),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchBacktest()));
