// Backtest throughput through the full engine path (validation, strategy, risk, paper fills, journal
// of fills) on the 130,708-candle BTC 1m file, or generated data of the same size when it's absent,
// beside the bare loop (bench/bare-loop.ts) doing the same SMA cross and fills over typed arrays.
// Each figure is a first pass in a fresh process (bench/backtest-pass.ts), runs interleaved
// (Skipper, bare loop, Skipper without fills, …) so a busy machine slows all of them alike; medians.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BTC_1M, median } from './data.ts';
import { BOT_NODE_FLAGS } from './shipped.ts';

export { BTC_1M };

interface Pass {
  candles: number;
  passes: Array<{ ms: number; fills: number; finalEquity: number }>;
  fills: string;
}

export interface BacktestBench {
  source: string;
  candles: number;
  fills: number;
  runs: number[];
  /** First pass in a fresh process, median over the runs. */
  medianPerSec: number;
  bestPerSec: number;
  /** The bare loop's first pass, median; and warm (10th pass in one process). */
  bareFirstPerSec: number;
  bareWarmPerSec: number;
  /**
   * Skipper warm: the 5th pass in one process (V8 has compiled the fill path by then). What the
   * engine's path costs once the first pass's warm-up is out of the figure.
   */
  warmPerSec: number;
  /** Skipper's median over the bare loop's median, first passes (the "N× slower"). */
  ratio: number;
  /** Skipper and the bare loop made the same fills (ts, side, price, quantity). */
  identicalFills: boolean;
  /** (Skipper − Skipper with a slow SMA that never crosses) / fills: what one fill costs. */
  perFillUs: number;
  perCandleUs: number;
}

function pass(which: 'skipper' | 'bare', fast: number, slow: number, passes = 1): Pass {
  const p = spawnSync(
    process.execPath,
    [...BOT_NODE_FLAGS, '--import', 'tsx', 'bench/backtest-pass.ts', which, String(fast), String(slow), String(passes)],
    {
      encoding: 'utf8',
    },
  );
  if (p.status !== 0) throw new Error(`backtest-pass ${which} failed: ${p.stderr}`);
  return JSON.parse(p.stdout) as Pass;
}

export async function benchBacktest(runs = 5): Promise<BacktestBench> {
  const skipper: number[] = [];
  const bare: number[] = [];
  const noFills: number[] = [];
  let candles = 0;
  let fills = 0;
  let identical = true;
  for (let i = 0; i < runs; i++) {
    const s = pass('skipper', 10, 30);
    const b = pass('bare', 10, 30);
    const q = pass('skipper', 10, 1_000_000);
    candles = s.candles;
    fills = s.passes[0]!.fills;
    identical &&= s.fills === b.fills;
    skipper.push(s.passes[0]!.ms);
    bare.push(b.passes[0]!.ms);
    noFills.push(q.passes[0]!.ms);
  }
  const warm = pass('bare', 10, 30, 10).passes.at(-1)!.ms;
  const skipperWarm = pass('skipper', 10, 30, 5).passes.at(-1)!.ms;
  const sMed = median(skipper);
  const perSec = (ms: number) => candles / (ms / 1000);
  return {
    source: existsSync(BTC_1M) ? 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv' : 'generated (../shared/data absent)',
    candles,
    fills,
    runs: skipper,
    medianPerSec: perSec(sMed),
    bestPerSec: perSec(Math.min(...skipper)),
    bareFirstPerSec: perSec(median(bare)),
    bareWarmPerSec: perSec(warm),
    warmPerSec: perSec(skipperWarm),
    ratio: sMed / median(bare),
    identicalFills: identical,
    perFillUs: fills > 0 ? ((sMed - median(noFills)) * 1000) / fills : 0,
    perCandleUs: (median(noFills) * 1000) / candles,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchBacktest()));
