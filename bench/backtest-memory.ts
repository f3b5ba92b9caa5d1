// Memory of `skipper backtest` on a 2 M-candle file (generated): the CSV is streamed, so RSS should
// not grow with the file. Max RSS sampled from /proc while it runs; the same for the 130 k-candle
// BTC file beside it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCsv } from '../src/market/generator.ts';
import { BTC_1M } from './data.ts';
import { BOT_NODE_FLAGS } from './shipped.ts';

export interface BacktestMemory {
  candles: number;
  seconds: number;
  maxRssMb: number;
  /** The same on the 130,708-candle BTC 1m file (absent: NaN). */
  smallMaxRssMb: number;
}

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function maxRss(csv: string): Promise<{ mb: number; seconds: number }> {
  const t0 = performance.now();
  // What `npm run skipper -- backtest` runs.
  const p = spawn(process.execPath, [...BOT_NODE_FLAGS, 'bin/skipper.js', 'backtest', '--data', csv, '--timeframe', '1m', '--json'], {
    stdio: 'ignore',
  });
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, rssMb(p.pid!) ?? 0)), 50);
  await new Promise((r) => p.on('close', r));
  clearInterval(timer);
  return { mb: max, seconds: (performance.now() - t0) / 1000 };
}

export async function benchBacktestMemory(candles = 2_000_000): Promise<BacktestMemory> {
  const csv = join(mkdtempSync(join(tmpdir(), 'skipper-btmem-')), `gen-${candles}.csv`);
  await generateCsv(csv, candles, 3);
  const big = await maxRss(csv);
  const small = existsSync(BTC_1M) ? (await maxRss(BTC_1M)).mb : NaN;
  return { candles, seconds: big.seconds, maxRssMb: big.mb, smallMaxRssMb: small };
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(await benchBacktestMemory(Number(process.argv[2] ?? 2_000_000))));
