// The backtest contract external tools rely on, checked against an independent reference
// implementation written plainly here (exact integer-cent SMAs, a long-only loop).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runBacktest, REFERENCE_LIMITS } from '../../src/app/backtest.ts';
import { generateCandles, generateCsv } from '../../src/market/generator.ts';
import { loadCandles } from '../../src/market/csv.ts';
import { validateSeries } from '../../src/market/validator.ts';
import type { Candle, Timeframe } from '../../src/core/types.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

interface RefFill {
  ts: number;
  side: 'buy' | 'sell';
  price: number;
  size: number;
  fee: number;
}

/** The reference semantics, spelled out. Prices have at most 2 decimals: SMAs compare exactly in cents. */
function reference(candles: Candle[], fast: number, slow: number, fee: number, cash0: number, step: number) {
  const cents = candles.map((c) => Math.round(c.close * 100));
  let cash = cash0;
  let pos = 0;
  let pending: 'buy' | 'sell' | null = null;
  let lastNonZero = 0;
  const fills: RefFill[] = [];
  let sf = 0;
  let ss = 0;
  for (let t = 0; t < candles.length; t++) {
    const c = candles[t]!;
    if (pending === 'buy') {
      const qty = Math.floor(cash / (c.open * (1 + fee)) / step) * step;
      if (qty > 0) {
        const f = qty * c.open * fee;
        cash -= qty * c.open + f;
        pos = qty;
        fills.push({ ts: c.ts, side: 'buy', price: c.open, size: qty, fee: f });
      }
    } else if (pending === 'sell') {
      const f = pos * c.open * fee;
      cash += pos * c.open - f;
      fills.push({ ts: c.ts, side: 'sell', price: c.open, size: pos, fee: f });
      pos = 0;
    }
    pending = null;
    sf += cents[t]!;
    ss += cents[t]!;
    if (t >= fast) sf -= cents[t - fast]!;
    if (t >= slow) ss -= cents[t - slow]!;
    if (t < slow - 1) continue;
    const diff = sf * slow - ss * fast; // sign of fast − slow, exactly
    const up = diff > 0 && lastNonZero < 0;
    const down = diff < 0 && lastNonZero > 0;
    if (diff !== 0) lastNonZero = diff;
    if (up && pos === 0) pending = 'buy';
    else if (down && pos > 0) pending = 'sell';
  }
  const last = candles[candles.length - 1]!;
  return { fills, finalEquity: cash + pos * last.close };
}

function check(candles: Candle[], tf: Timeframe, fast: number, slow: number) {
  const fee = 0.001;
  const step = 0.00000001;
  const r = runBacktest({
    candles,
    symbol: 'BTC/USDT',
    timeframe: tf,
    strategy: 'sma-cross',
    params: { fast, slow },
    cash: 10_000,
    fee,
    qtyStep: step,
    limits: REFERENCE_LIMITS,
  });
  const accepted = validateSeries(candles, 'BTC/USDT', tf).accepted;
  const ref = reference(accepted, fast, slow, fee, 10_000, step);
  expect(r.fills).toBe(ref.fills.length);
  r.fillRows.forEach((f, i) => {
    const e = ref.fills[i]!;
    expect({ ts: f.ts, side: f.side, price: f.price }).toEqual({ ts: e.ts, side: e.side, price: e.price });
    expect(f.qty).toBeCloseTo(e.size, 10);
    expect(f.fee).toBeCloseTo(e.fee, 8);
  });
  expect(r.final_equity).toBeCloseTo(ref.finalEquity, 6);
  return r;
}

describe('backtest contract (sma-cross reference setup)', () => {
  it('matches the reference fill for fill on synthetic data', () => {
    const candles = generateCandles({ count: 20_000, seed: 42, volatility: 0.003 });
    const r = check(candles, '1m', 10, 30);
    expect(r.fills).toBeGreaterThan(100);
    expect(r.metrics.trades).toBe(Math.floor(r.fills / 2));
  });

  it('flat runs, gaps and duplicates: the diff stays exactly 0 on flat windows; bad candles are skipped', () => {
    const candles = generateCandles({
      count: 5000,
      seed: 5,
      oddities: { flatRuns: [{ at: 1000, length: 80 }], gaps: [{ at: 2000, length: 30 }], duplicates: [3000], misaligned: [3500] },
    });
    check(candles, '1m', 10, 30);
  });

  it('a signal on the last candle never fills; an open position is valued at the last close', () => {
    const candles = generateCandles({ count: 3000, seed: 9 });
    const r = runBacktest({
      candles,
      symbol: 'BTC/USDT',
      timeframe: '1m',
      strategy: 'sma-cross',
      params: { fast: 3, slow: 8 },
      cash: 1000,
      fee: 0,
      qtyStep: 1e-8,
      limits: REFERENCE_LIMITS,
    });
    const last = r.fillRows[r.fillRows.length - 1];
    expect(last!.ts).toBeLessThanOrEqual(candles[candles.length - 1]!.ts);
    check(candles, '1m', 3, 8);
  });

  it('the CLI prints one JSON object with the contract fields and writes --fills-out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skipper-bt-'));
    const csv = join(dir, 'c.csv');
    const out = join(dir, 'fills.csv');
    await generateCsv(csv, 5000, 3);
    const p = spawnSync(
      process.execPath,
      [
        'bin/skipper.js',
        'backtest',
        '--data',
        csv,
        '--strategy',
        'sma-cross',
        '--fast',
        '10',
        '--slow',
        '30',
        '--fee',
        '0.001',
        '--cash',
        '10000',
        '--qty-step',
        '0.00000001',
        '--json',
        '--fills-out',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(p.status, p.stderr).toBe(0);
    const lines = p.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!);
    for (const k of ['bars', 'fills', 'final_equity', 'metrics', 'elapsed_ms', 'bars_per_sec']) expect(j).toHaveProperty(k);
    for (const k of [
      'total_return',
      'cagr',
      'sharpe',
      'sortino',
      'max_drawdown',
      'win_rate',
      'profit_factor',
      'expectancy',
      'exposure',
      'fees',
      'trades',
    ]) {
      expect(j.metrics).toHaveProperty(k);
    }
    expect(j.bars).toBe(5000);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('timestamp_ms,side,price,size,fee');
    expect(rows).toHaveLength(j.fills + 1);
    expect(rows[1]).toMatch(/^\d+,buy,[\d.]+,[\d.]+,[\d.]+$/);
  });

  it('bad input: a missing file and an unknown strategy are clear errors', () => {
    const a = spawnSync(process.execPath, ['bin/skipper.js', 'backtest', '--data', '/nope.csv', '--json'], { encoding: 'utf8' });
    expect(a.status).not.toBe(0);
    expect(a.stderr).toMatch(/nope\.csv/);
    const b = spawnSync(process.execPath, ['bin/skipper.js', 'backtest', '--data', '/nope.csv', '--strategy', 'moon'], {
      encoding: 'utf8',
    });
    expect(b.stderr).toMatch(/unknown strategy "moon"/);
  });
});

const DATA = SHARED_DATA;
describe.skipIf(!existsSync(DATA))('backtest contract on the real files in ../shared/data', () => {
  const files = existsSync(DATA) ? readdirSync(DATA).filter((f) => f.endsWith('.csv')) : [];
  for (const f of files) {
    it(f, () => {
      const tf = /_(\d+[mhd])_/.exec(f)![1] as Timeframe;
      const r = check(loadCandles(join(DATA, f)), tf, 10, 30);
      expect(r.fills).toBeGreaterThan(0);
    });
  }
});
