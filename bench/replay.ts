// Paper replay throughput with the journal on disk: `skipper run --replay FILE --speed max` in a fresh
// process (the real BTC 1m file, or generated candles of the same size when it is absent), candles/s
// from the bot's own count and clock (its "feed finished" log line). Beside it, the baseline of the
// same run: `skipper backtest` of the same config and file (the same engine, no per-candle
// persistence), its own bars_per_sec; and the same replay with SMAs that never cross, which splits the
// time into per candle and per fill. Runs interleaved, medians; the 1-minute load beside each round.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateCsv } from '../src/market/generator.ts';
import { BTC_1M, median } from './data.ts';
import { BOT_NODE_FLAGS } from './shipped.ts';

export interface ReplayBench {
  source: string;
  candles: number;
  fills: number;
  /** Replay candles/s per run, and their median. */
  replayRuns: number[];
  replayPerSec: number;
  /** The backtest of the same config and file: candles/s per run, median. */
  backtestRuns: number[];
  backtestPerSec: number;
  /** The same replay with SMAs that never cross (no fills): candles/s, median; and what one fill adds. */
  noFillRuns: number[];
  noFillPerSec: number;
  perFillUs: number;
  /** 1-minute load average before each pair of runs. */
  loads: number[];
}

const BIN = [...BOT_NODE_FLAGS, 'bin/skipper.js'];

/** One replay in a fresh process, journal on disk: candles/s and fills from the bot's own figures. */
async function replayOnce(
  csv: string,
  extra: Record<string, unknown> = {},
): Promise<{ perSec: number; ms: number; candles: number; fills: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'skipper-replay-'));
  try {
    const cfg = join(dir, 'cfg.json');
    const log = join(dir, 'skipper.log');
    writeFileSync(
      cfg,
      JSON.stringify({
        journal: { path: join(dir, 'skipper.db') },
        log: { file: log },
        chat: { console: { enabled: false } },
        risk: { maxConsecutiveLosses: 0 },
        ...extra,
      }),
    );
    const p = spawnSync(process.execPath, [...BIN, 'run', '--config', cfg, '--replay', csv, '--speed', 'max', '--exit-when-done'], {
      encoding: 'utf8',
    });
    const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    const done = lines.map((l) => JSON.parse(l) as { msg?: string; ms?: number; accepted?: number }).find((l) => l.msg === 'feed finished');
    if (!done?.ms || !done.accepted) throw new Error(`replay failed (exit ${p.status}): ${p.stderr.split('\n').slice(-5).join(' ')}`);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dir, 'skipper.db'), { readonly: true });
    const fills = (db.prepare('select count(*) n from fills').get() as { n: number }).n;
    db.close();
    return { perSec: done.accepted / (done.ms / 1000), ms: done.ms, candles: done.accepted, fills };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The backtest of the replay's config on the same file (journal in memory): its own bars_per_sec. */
function backtestOnce(csv: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'skipper-replay-bt-'));
  try {
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ risk: { maxConsecutiveLosses: 0 } }));
    const p = spawnSync(process.execPath, [...BIN, 'backtest', '--config', cfg, '--data', csv, '--json'], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`backtest failed: ${p.stderr.split('\n').slice(-5).join(' ')}`);
    return (JSON.parse(p.stdout) as { bars_per_sec: number }).bars_per_sec;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchReplay(runs = 3): Promise<ReplayBench> {
  let csv = BTC_1M;
  let source = 'BTC 1m file';
  let tmp: string | null = null;
  if (!existsSync(csv)) {
    tmp = mkdtempSync(join(tmpdir(), 'skipper-replay-csv-'));
    csv = join(tmp, 'BTCUSDT-1m.csv');
    await generateCsv(csv, 130_708, 1, { startPrice: 105_000, volatility: 0.0008 });
    source = 'generated candles (130,708)';
  }
  const replayRuns: number[] = [];
  const backtestRuns: number[] = [];
  const loads: number[] = [];
  let candles = 0;
  let fills = 0;
  const ms: number[] = [];
  const noFillMs: number[] = [];
  const noFillRuns: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      loads.push(loadavg()[0]!);
      const r = await replayOnce(csv);
      replayRuns.push(r.perSec);
      ms.push(r.ms);
      candles = r.candles;
      fills = r.fills;
      backtestRuns.push(backtestOnce(csv));
      const q = await replayOnce(csv, { strategy: { name: 'sma-cross', params: { fast: 10, slow: 1_000_000 } } });
      noFillRuns.push(q.perSec);
      noFillMs.push(q.ms);
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  return {
    source,
    candles,
    fills,
    replayRuns,
    replayPerSec: median(replayRuns),
    backtestRuns,
    backtestPerSec: median(backtestRuns),
    noFillRuns,
    noFillPerSec: median(noFillRuns),
    perFillUs: fills > 0 ? ((median(ms) - median(noFillMs)) * 1000) / fills : 0,
    loads,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchReplay(Number(process.argv[2] ?? 3))));
}
