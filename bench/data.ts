import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/core/paths.ts';

/** The real BTC 1m file the backtest figures use (generated candles of the same size when absent). */
export const BTC_1M = join(PROJECT_ROOT, '../shared/data/binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');

/** The median of a few runs' figures (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
