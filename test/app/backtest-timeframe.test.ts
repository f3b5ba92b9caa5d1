// The reference backtest runs the file's own candles: a --timeframe they do not have is refused with
// what to do instead; gaps and rejected candles are reported in the text and the JSON, as are a
// config backtest's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { backtestText } from '../../src/research/cli.ts';
import { runConfigBacktest } from '../../src/research/run-config.ts';
import { dataIssuesText, mergeDataIssues } from '../../src/market/data-issues.ts';
import { runSkipper } from '../helpers/cli.ts';

const T0 = Date.UTC(2020, 0, 1);
const HOUR = 3_600_000;
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

describe('gaps are reported', () => {
  const gap = { symbol: 'BTC/USDT', from: T0 + 149 * HOUR, to: T0 + 197 * HOUR, missing: 49 };

  it('by the reference backtest: a line of text, data_issues in the JSON', async () => {
    const text = await backtest(holed);
    expect(text.code).toBe(0);
    expect(text.out).toContain('\nbars 450 (1 rejected), fills ');
    expect(text.out).toContain('\ndata: 1 gap (49 missing 1h candles): 2020-01-07T05:00:00Z–2020-01-09T05:00:00Z; rejected: duplicate 1\n');
    const json = await backtest(holed, '--json');
    const j = JSON.parse(json.out) as { data_issues: unknown };
    expect(j.data_issues).toEqual({ counts: { duplicate: 1, gap: 1 }, missing_candles: 49, gaps: [gap] });
    const none = JSON.parse((await backtest(clean, '--json')).out) as { data_issues: unknown };
    expect(none.data_issues).toEqual({ counts: {}, missing_candles: 0, gaps: [] });
  }, 60_000);

  it('by a config backtest: the same line and data_issues', () => {
    const r = runConfigBacktest({
      config: parseConfig({ market: { timeframe: '1h' }, risk: { maxConsecutiveLosses: 0 } }),
      data: { 'BTC/USDT': holed },
    });
    expect(r.data_issues).toEqual({ counts: { duplicate: 1, gap: 1 }, missing_candles: 49, gaps: [gap] });
    expect(backtestText(r).split('\n')[2]).toBe(
      'data: 1 gap (49 missing 1h candles): 2020-01-07T05:00:00Z–2020-01-09T05:00:00Z; rejected: duplicate 1',
    );
  });
});

describe('dataIssuesText', () => {
  it('lists three gaps (with their symbols when there are several), counts the rest, then warnings and rejects', () => {
    const g = (symbol: string, h: number) => ({ symbol, from: T0 + h * HOUR, to: T0 + h * HOUR, missing: 1 });
    const t = mergeDataIssues([
      { counts: { gap: 3, zero_volume: 2 }, missing_candles: 3, gaps: [g('BTC/USDT', 5), g('BTC/USDT', 9), g('BTC/USDT', 30)] },
      { counts: { gap: 1, misaligned: 1 }, missing_candles: 1, gaps: [g('ETH/USDT', 7)] },
    ]);
    expect(dataIssuesText(t, '1h')).toBe(
      'data: 4 gaps (4 missing 1h candles): BTC/USDT 2020-01-01T05:00:00Z, ETH/USDT 2020-01-01T07:00:00Z, BTC/USDT 2020-01-01T09:00:00Z, 1 more; ' +
        'used as they are: zero volume 2; rejected: misaligned 1',
    );
    expect(dataIssuesText(mergeDataIssues([]), '1h')).toBeNull();
  });
});
