// One backtest pass in a fresh process (a first pass: no JIT warm-up), printed as one JSON line.
// `node --import tsx bench/backtest-pass.ts skipper|bare [fast slow] [passes]`; bench/backtest.ts runs it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type * as BacktestModule from '../src/app/backtest.ts';
import type { Candle } from '../src/core/types.ts';
import { loadCandles } from '../src/market/csv.ts';
import { generateCandles } from '../src/market/generator.ts';
import { bareLoop, columns } from './bare-loop.ts';
import { BTC_1M } from './data.ts';
import { shipped } from './shipped.ts';

const [which = 'skipper', fast = '10', slow = '30', passes = '1'] = process.argv.slice(2);
const candles: Candle[] = existsSync(BTC_1M)
  ? loadCandles(BTC_1M)
  : generateCandles({ count: 130_708, seed: 1, startPrice: 105_000, volatility: 0.0008 });
const out: Array<{ ms: number; fills: number; finalEquity: number }> = [];
/** ts, side, price and quantity of every fill, hashed: equal digests = identical fills. */
const digest = (rows: Array<{ ts: number; side: string; price: number; qty: number }>) =>
  createHash('sha1')
    .update(rows.map((f) => `${f.ts},${f.side},${f.price},${f.qty}`).join('\n'))
    .digest('hex');
let fills = '';
if (which === 'bare') {
  const cols = columns(candles);
  for (let i = 0; i < Number(passes); i++) {
    const t0 = performance.now();
    const r = bareLoop(cols, Number(fast), Number(slow));
    out.push({ ms: performance.now() - t0, fills: r.fills, finalEquity: r.finalEquity });
  }
  fills = digest(bareLoop(cols, Number(fast), Number(slow), 0.001, 10_000, 1e-8, true).rows);
} else {
  const { runBacktest, REFERENCE_LIMITS } = await shipped<typeof BacktestModule>('src/app/backtest.ts');
  for (let i = 0; i < Number(passes); i++) {
    const r = runBacktest({
      candles,
      symbol: 'BTC/USDT',
      timeframe: '1m',
      strategy: 'sma-cross',
      params: { fast: Number(fast), slow: Number(slow) },
      cash: 10_000,
      fee: 0.001,
      qtyStep: 1e-8,
      limits: REFERENCE_LIMITS,
    });
    out.push({ ms: r.elapsed_ms, fills: r.fills, finalEquity: r.final_equity });
    fills = digest(r.fillRows);
  }
}
process.stdout.write(JSON.stringify({ candles: candles.length, passes: out, fills }) + '\n');
