// The reference backtest runs the file's own candles: a --timeframe they do not have is refused with
// what to do instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCsv } from '../../src/market/generator.ts';
import { runSkipper } from '../helpers/cli.ts';

const T0 = Date.UTC(2020, 0, 1);
let dir: string;
let clean: string;
let holed: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skipper-bt-tf-'));
  clean = join(dir, 'h500.csv');
  await generateCsv(clean, 499, 3, { timeframe: '1h', startTs: T0, volatility: 0.01 });
  // As the tester made it (head -500 is the header and 499 candles): candle 99 twice, then a hole of 49 hours.
  const lines = readFileSync(clean, 'utf8').trimEnd().split('\n');
  holed = join(dir, 'dupgap.csv');
  writeFileSync(holed, [...lines.slice(0, 100), ...lines.slice(99, 150), ...lines.slice(199)].join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backtest = (...args: string[]) => runSkipper(['backtest', '--data', ...args], dir);

describe('backtest --timeframe', () => {
  it('a timeframe the candles do not have is refused, saying what they are and what to do', async () => {
    const coarser = await backtest(clean, '--timeframe', '4h');
    expect(coarser.out).toBe('');
    expect(coarser.err).toBe(
      `skipper: ${clean} holds 1h candles, not 4h: leave --timeframe out to run them as 1h bars; ` +
        'for 4h bars made from them, run skipper backtest --config with market.timeframe: 4h (it resamples a finer file up)\n',
    );
    expect(coarser.code).toBe(1);
    const finer = await backtest(clean, '--timeframe', '1m');
    expect(finer.err).toBe(
      `skipper: ${clean} holds 1h candles, not 1m: leave --timeframe out to run them as 1h bars; 1m bars cannot be made from 1h candles\n`,
    );
    expect(finer.code).toBe(1);
    const bad = await backtest(clean, '--timeframe', '7m');
    expect(bad.err).toMatch(/^skipper: --timeframe 7m: one of 1m, /);
    const same = await backtest(clean, '--timeframe', '1h');
    expect(same.err).toBe('');
    expect(same.out).toMatch(/^BTC\/USDT 1h sma-cross .*\nbars 499 \(0 rejected\)/);
  }, 60_000);
});
