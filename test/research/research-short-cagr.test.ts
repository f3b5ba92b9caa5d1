// One rule for every CAGR: under 30 days of data it is not annualised — the reference backtest, the
// config backtest (text, JSON, report), sweeps' constraints and select's golden rules alike; a rule on
// it then fails and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { SimClock } from '../../src/core/clock.ts';
import { parseRules } from '../../src/core/metric-rules.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { backtestText } from '../../src/research/cli.ts';
import { InlineExecutor } from '../../src/research/jobs.ts';
import { parseParam } from '../../src/research/params.ts';
import { htmlReport } from '../../src/research/report-html.ts';
import { runConfigBacktest } from '../../src/research/run-config.ts';
import { select } from '../../src/research/select.ts';
import { ResultsStore } from '../../src/research/store.ts';
import { runSweep } from '../../src/research/sweep.ts';

const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const DAY = 86_400_000;
const raw = { market: { timeframe: '1h' }, risk: { maxConsecutiveLosses: 0 } };
let dir: string;
let btc: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skipper-short-cagr-'));
  btc = join(dir, 'btc_1h.csv');
  await generateCsv(btc, 24 * 45, 7, { timeframe: '1h', startTs: T0, volatility: 0.01 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CAGR under 30 days of data', () => {
  it('backtest --config: null in the result (JSON), "n/a" in the text and the report, calmar with it; 30 days are annualised', () => {
    const run = (from: number, to: number) => runConfigBacktest({ config: parseConfig(raw), data: { 'BTC/USDT': btc }, from, to });
    const short = run(T0 + 10 * DAY, T0 + 40 * DAY - HOUR); // 719 bars: the last closes 1 h before 30 days are up
    expect(short.bars).toBe(719);
    expect(short.metrics.total_return).not.toBe(0);
    expect(short.metrics.cagr).toBeNull();
    expect(short.metrics.calmar).toBeNull();
    expect(JSON.parse(JSON.stringify(short)).metrics).toMatchObject({ cagr: null, calmar: null });
    const text = backtestText(short);
    expect(text).toContain('CAGR n/a: under 30 days of data, not annualised');
    expect(text).toContain('calmar n/a,');
    expect(htmlReport(short, { title: 't' })).toContain('n/a: under 30 days of data, not annualised');

    const full = run(T0 + 10 * DAY, T0 + 40 * DAY); // 720 bars: 30 days
    expect(full.bars).toBe(720);
    expect(typeof full.metrics.cagr).toBe('number');
    expect(full.metrics.calmar).toBeCloseTo(full.metrics.cagr! / full.metrics.max_drawdown, 12);
    expect(backtestText(full)).toMatch(/CAGR -?\d+\.\d\d%\)/);
  });

  it('select: a rule on CAGR does not pass a 19-day window, and the verdict says why; sweep constraints alike', async () => {
    const store = new ResultsStore(':memory:');
    const common = {
      raw,
      data: { 'BTC/USDT': btc },
      specs: [parseParam('strategy.params.fast=5,10')],
      objective: 'sharpe' as const,
      require: [],
      store,
      executor: new InlineExecutor(),
      clock: new SimClock(1),
    };
    const rules = parseRules('cagr>=-1,trades>=0'); // any CAGR there is passes
    const short = await select({ ...common, candidates: [{ name: 'sma', overlay: {} }], rules, from: T0 + 5 * DAY, to: T0 + 24 * DAY });
    expect(short).toHaveLength(2);
    for (const v of short) {
      expect(v.figures.metrics.cagr).toBeNull();
      expect(v.passed).toBe(false);
      expect(v.failed).toEqual(['cagr>=-1 (n/a: under 30 days of data)']);
    }
    const long = await select({ ...common, candidates: [{ name: 'sma', overlay: {} }], rules, from: T0 + 5 * DAY, to: T0 + 40 * DAY });
    expect(long.every((v) => v.passed && typeof v.figures.metrics.cagr === 'number')).toBe(true);

    const sweep = await runSweep({
      ...common,
      base: parseConfig(raw),
      search: { kind: 'grid' },
      require: rules,
      from: T0,
      to: T0 + 19 * DAY,
    });
    expect(sweep.ranking.map((r) => r.failed)).toEqual([
      ['cagr>=-1 (n/a: under 30 days of data)'],
      ['cagr>=-1 (n/a: under 30 days of data)'],
    ]);
    store.close();
  });
});
