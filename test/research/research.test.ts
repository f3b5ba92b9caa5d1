// The research loop: backtests of a whole config, sweeps (grid, random, halving, walk-forward),
// the resumable results file, the worker pool, stress cases and golden-rule selection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { SimClock } from '../../src/core/clock.ts';
import { DEFAULT_GOLDEN_RULES, parseRules } from '../../src/core/metric-rules.ts';
import { generateCandles, generateCsv } from '../../src/market/generator.ts';
import { createPoolExecutor, InlineExecutor, runJob, type Executor } from '../../src/research/jobs.ts';
import { gridPoints, parseParam, randomPoints, validateSpecs } from '../../src/research/params.ts';
import { runConfigBacktest } from '../../src/research/run-config.ts';
import { applyShock } from '../../src/research/shocks.ts';
import { ResultsStore } from '../../src/research/store.ts';
import { planStress, runStress, scanDataDir, unchangedByShock } from '../../src/research/stress.ts';
import { runSweep, type SweepOptions } from '../../src/research/sweep.ts';
import { select } from '../../src/research/select.ts';
import { backtestText, sweepText } from '../../src/research/cli.ts';
import { heatmapPng } from '../../src/research/charts.ts';
import { pngInfo } from '../../src/reports/charts.ts';
import { addSpan, parseWalkForward, walkForwardWindows } from '../../src/research/walk-forward.ts';

const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const DAY = 86_400_000;
let dir: string;
let btc: string;
let eth: string;

const cfg = (over: ConfigInput = {}) =>
  parseConfig({ market: { timeframe: '1h', symbols: ['BTC/USDT'] }, risk: { maxConsecutiveLosses: 0 }, ...over });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skipper-research-'));
  btc = join(dir, 'btc_1h.csv');
  eth = join(dir, 'eth_1h.csv');
  await generateCsv(btc, 24 * 120, 7, { timeframe: '1h', startTs: T0, volatility: 0.01 });
  await generateCsv(eth, 24 * 120, 8, { timeframe: '1h', startTs: T0, volatility: 0.012, startPrice: 2000 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runConfigBacktest: the config as the bot would trade it', () => {
  it('merges several symbols by candle time and reports per-symbol results', () => {
    const r = runConfigBacktest({
      config: cfg({ market: { timeframe: '1h', symbols: ['BTC/USDT', 'ETH/USDT'] } }),
      data: { 'BTC/USDT': btc, 'ETH/USDT': eth },
    });
    expect(r.symbols).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(r.per_symbol['BTC/USDT']!.bars).toBe(24 * 120);
    expect(r.per_symbol['ETH/USDT']!.bars).toBe(24 * 120);
    expect(r.per_symbol['BTC/USDT']!.fills + r.per_symbol['ETH/USDT']!.fills).toBe(r.fills);
    expect(r.per_symbol['ETH/USDT']!.fills).toBeGreaterThan(0);
    expect(r.metrics.trades).toBe(r.per_symbol['BTC/USDT']!.trades + r.per_symbol['ETH/USDT']!.trades);
    const net = r.per_symbol['BTC/USDT']!.net_pnl + r.per_symbol['ETH/USDT']!.net_pnl;
    if (r.per_symbol['BTC/USDT']!.open_qty === 0 && r.per_symbol['ETH/USDT']!.open_qty === 0)
      expect(r.final_equity).toBeCloseTo(r.metrics.start_equity + net, 6);
    expect(r.equity.length).toBeGreaterThan(10);
    expect(r.monthly.map((m) => m.month)).toEqual(['2024-01', '2024-02', '2024-03', '2024-04']);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // plain JSON: it travels to workers and through Redis
  });

  it('applies the config risk limits: rejections by rule and breaker trips are counted', () => {
    const r = runConfigBacktest({
      config: cfg({ risk: { maxConsecutiveLosses: 1, minTradeIntervalSec: 3 * 86_400 } }),
      data: { 'BTC/USDT': btc },
    });
    expect(r.rejections.min_trade_interval).toBeGreaterThan(0);
    expect(r.breaker_trips).toBe(1);
    expect(r.rejections.circuit_breaker).toBeGreaterThan(0);
    expect(r.risk_events.some((e) => e.kind === 'breaker')).toBe(true);
  });

  it('splits strategy entries as the bot would (execution.signals): each entry fills in slices, exits whole', () => {
    const plain = runConfigBacktest({ config: cfg(), data: { 'BTC/USDT': btc } });
    const split = runConfigBacktest({
      config: cfg({ execution: { algo: 'twap', aboveNotional: 0, slices: 3, intervalSec: 3600, signals: true } }),
      data: { 'BTC/USDT': btc },
    });
    expect(plain.metrics.trades).toBeGreaterThan(5);
    const entries = (r: typeof plain) => r.trades.filter((t) => t.side === 'buy').length;
    const exits = (r: typeof plain) => r.trades.filter((t) => t.side === 'sell').length;
    // An exit signal may come before the last slice: 1 to 3 buys per trade, one sell.
    expect(entries(split)).toBeGreaterThan(exits(split));
    expect(entries(split)).toBeLessThanOrEqual(3 * exits(split) + 3);
    expect(entries(plain)).toBeLessThanOrEqual(exits(plain) + 1);
  });

  it('counts closed trades by exit reason: they add up to the trades and their net PnL', () => {
    const r = runConfigBacktest({ config: cfg({ risk: { stopLossPct: 0.01, takeProfitPct: 0.02 } }), data: { 'BTC/USDT': btc } });
    const exits = Object.values(r.exits);
    expect(Object.keys(r.exits)).toEqual(expect.arrayContaining(['signal', 'stop_loss', 'take_profit']));
    expect(exits.reduce((a, t) => a + t.trades, 0)).toBe(r.metrics.trades);
    expect(exits.reduce((a, t) => a + t.wins, 0)).toBe(Math.round(r.metrics.win_rate * r.metrics.trades));
    expect(backtestText(r)).toMatch(/^exits: \w[\w -]* \d+ \(\d+% won, -?\d+\.\d\d\)/m);
  });

  it('perps: leverage brings liquidations, funding is paid by the position held', () => {
    const config = cfg({
      market: { type: 'perp', timeframe: '1h', symbols: ['BTC/USDT'], leverage: 50 },
      // No stop: at 50× the default 2 % stop lies beyond the liquidation price, and such entries are refused.
      risk: { maxLeverage: 50, maxConsecutiveLosses: 0, stopLossPct: null, sizing: 'fixed', fixedQuote: 1000 },
    });
    const funding: Array<[number, number]> = [];
    for (let t = T0; t < T0 + 120 * DAY; t += 8 * HOUR) funding.push([t, 0.001]);
    const r = runConfigBacktest({ config, data: { 'BTC/USDT': btc }, funding: { 'BTC/USDT': funding } });
    expect(r.liquidations.length).toBeGreaterThan(0);
    expect(r.funding.payments).toBeGreaterThan(0);
    expect(r.funding.total).toBeLessThan(0); // long only (allowShort off): longs pay a positive rate
  });

  it('runs a window with warm-up before it; refuses windows the data does not cover and coarser files', () => {
    const from = T0 + 30 * DAY;
    const r = runConfigBacktest({ config: cfg(), data: { 'BTC/USDT': btc }, from, to: from + 10 * DAY });
    expect(r.from).toBe(from);
    expect(r.bars).toBe(240);
    expect(() => runConfigBacktest({ config: cfg(), data: { 'BTC/USDT': btc }, from: T0 - DAY })).toThrow(
      /btc_1h\.csv covers .* not the requested window/,
    );
    expect(() => runConfigBacktest({ config: cfg({ market: { timeframe: '15m' } }), data: { 'BTC/USDT': btc } })).toThrow(
      /coarser than market.timeframe 15m/,
    );
    expect(() => runConfigBacktest({ config: cfg(), data: {} })).toThrow(/no data for BTC\/USDT/);
  });

  it('warm-up skips candles the validator refuses (a NaN before the window does not poison the indicators)', () => {
    const candles = generateCandles({ count: 24 * 20, timeframe: '1h', startTs: T0, seed: 9, oddities: { nan: [24 * 10 - 5] } });
    const from = T0 + 10 * DAY;
    const clean = generateCandles({ count: 24 * 20, timeframe: '1h', startTs: T0, seed: 9 });
    const a = runConfigBacktest({ config: cfg(), data: { 'BTC/USDT': { candles, timeframe: '1h' } }, from });
    const b = runConfigBacktest({ config: cfg(), data: { 'BTC/USDT': { candles: clean, timeframe: '1h' } }, from });
    expect(a.fills).toBeGreaterThan(0);
    expect(Math.abs(a.fills - b.fills)).toBeLessThanOrEqual(2); // one candle fewer in the warm-up, not a dead strategy
  });

  it('resamples finer data up to the config timeframe', () => {
    const candles = generateCandles({ count: 60 * 24 * 5, timeframe: '1m', startTs: T0, seed: 3 });
    const r = runConfigBacktest({ config: cfg(), data: { 'BTC/USDT': { candles, timeframe: '1m' } } });
    expect(r.bars).toBe(24 * 5);
  });
});

describe('sweep parameters', () => {
  it('parses ranges and lists, and refuses bad ones naming the path', () => {
    expect(parseParam('strategy.params.fast=5:20:5').values).toEqual([5, 10, 15, 20]);
    expect(parseParam('risk.stopLossPct=0.01:0.03:0.01').values).toEqual([0.01, 0.02, 0.03]);
    expect(parseParam('risk.sizing=risk,fixed').values).toEqual(['risk', 'fixed']);
    expect(() => parseParam('strategy.params.fast=30:5:5')).toThrow(/strategy\.params\.fast.*empty range/);
    expect(() => parseParam('strategy.params.fast=5:30:0')).toThrow(/step must be positive/);
    const raw = { market: { timeframe: '1h' } };
    expect(() => validateSpecs(raw, [parseParam('risk.nope=1,2')])).toThrow(/--param risk\.nope=1.*unknown key "nope"/);
    expect(() => validateSpecs(raw, [parseParam('market.allowShort=1:2:1')])).toThrow(/--param market\.allowShort=1.*market\.allowShort/);
    expect(() => validateSpecs(raw, [parseParam('risk.riskPerTrade=0.05,0.1')])).toThrow(/risk\.riskPerTrade.*between 1% and 3%/);
    expect(() => validateSpecs(raw, [parseParam('strategy.params.period=5,6')])).toThrow(/sma-cross has no parameter "period"/);
    const specs = [parseParam('strategy.params.fast=5:15:5'), parseParam('strategy.params.slow=20,40')];
    expect(gridPoints(specs)).toHaveLength(6);
    expect(randomPoints(specs, 3, 42)).toEqual(randomPoints(specs, 3, 42));
    expect(new Set(randomPoints(specs, 3, 42).map((p) => JSON.stringify(p))).size).toBe(3);
  });

  it('walk-forward windows: rolling and anchored, calendar months', () => {
    expect(addSpan(Date.UTC(2024, 0, 31), { n: 1, unit: 'm' })).toBe(Date.UTC(2024, 1, 29));
    const wf = parseWalkForward('2m:2w', false);
    const w = walkForwardWindows(T0, T0 + 120 * DAY, wf);
    expect(w[0]!.train).toEqual([T0, Date.UTC(2024, 2, 1)]);
    expect(w[0]!.test).toEqual([Date.UTC(2024, 2, 1), Date.UTC(2024, 2, 15)]);
    expect(w[1]!.train[0]).toBe(Date.UTC(2024, 0, 15));
    for (let i = 1; i < w.length; i++) expect(w[i]!.test[0]).toBe(w[i - 1]!.test[1]);
    const anchored = walkForwardWindows(T0, T0 + 120 * DAY, parseWalkForward('2m:2w', true));
    expect(anchored.every((x) => x.train[0] === T0)).toBe(true);
    expect(() => parseWalkForward('6x:1m', false)).toThrow(/train "6x"/);
  });
});

describe('sweeps', () => {
  const base = (store: ResultsStore, executor: Executor, over: Partial<SweepOptions> = {}): SweepOptions => {
    const raw = { market: { timeframe: '1h' }, risk: { maxConsecutiveLosses: 0 } };
    return {
      raw,
      base: parseConfig(raw),
      data: { 'BTC/USDT': btc },
      specs: [parseParam('strategy.params.fast=5:15:5'), parseParam('strategy.params.slow=20,40')],
      search: { kind: 'grid' },
      objective: 'sharpe',
      require: parseRules('max_drawdown<=0.5'),
      store,
      executor,
      clock: new SimClock(1),
      ...over,
    };
  };

  it('ranks a grid, stores one row per run, resumes after a kill and never counts a run twice', async () => {
    const file = join(dir, 'grid.db');
    // A "killed" sweep: the executor dies after three runs.
    let n = 0;
    const dying: Executor = {
      name: 'dying',
      async run(jobs, onDone) {
        for (const j of jobs) {
          if (n++ === 3) throw new Error('killed');
          onDone(runJob(j, 'main'));
        }
      },
      async close() {},
    };
    const s1 = new ResultsStore(file);
    await expect(runSweep(base(s1, dying))).rejects.toThrow('killed');
    s1.close();
    const s2 = new ResultsStore(file);
    const r = await runSweep(base(s2, new InlineExecutor()));
    expect(r.points).toBe(6);
    expect(r.cached).toBe(3);
    expect(r.runs).toBe(3);
    expect(s2.count(r.sweepId)).toBe(6);
    expect(r.ranking).toHaveLength(6);
    for (let i = 1; i < r.ranking.length; i++)
      if (r.ranking[i]!.passed === r.ranking[i - 1]!.passed)
        expect(r.ranking[i]!.objective).toBeLessThanOrEqual(r.ranking[i - 1]!.objective);
    // Delivered twice (a retried job): stored once.
    const row = s2.runs(r.sweepId)[0]!;
    expect(s2.put(row, 2)).toBe(false);
    const again = await runSweep(base(s2, new InlineExecutor()));
    expect(again.runs).toBe(0);
    expect(again.cached).toBe(6);
    expect(again.ranking).toEqual(r.ranking);
    s2.close();
  });

  it('gives identical results whatever the number of worker threads', async () => {
    const one = new ResultsStore(':memory:');
    const two = new ResultsStore(':memory:');
    const pool = await createPoolExecutor(2);
    try {
      const a = await runSweep(base(one, new InlineExecutor()));
      const b = await runSweep(base(two, pool));
      expect(b.ranking).toEqual(a.ranking);
      const strip = (s: ResultsStore, id: string) =>
        s
          .runs(id)
          .map((x) => [x.runId, x.figures])
          .sort();
      expect(strip(two, b.sweepId)).toEqual(strip(one, a.sweepId));
      expect(new Set(two.runs(b.sweepId).map((x) => x.worker)).size).toBeGreaterThan(0);
    } finally {
      await pool.close();
      one.close();
      two.close();
    }
  }, 60_000);

  it('walk-forward: chooses on each train window, reports the stitched out-of-sample equity and the gap; table and heat map', async () => {
    const store = new ResultsStore(':memory:');
    const r = await runSweep(base(store, new InlineExecutor(), { walkForward: parseWalkForward('1m:2w', false) }));
    expect(r.windows.length).toBeGreaterThanOrEqual(5);
    for (const w of r.windows) {
      expect(w.best).not.toBeNull();
      expect(w.oos).not.toBeNull();
      expect(w.test![0]).toBe(w.train[1]);
    }
    expect(r.stitched!.equity.length).toBeGreaterThan(0);
    expect(r.stitched!.equity[0]![0]).toBe(r.windows[0]!.test![0] + HOUR); // points are at candle close
    expect(r.gap!.diff).toBeCloseTo(r.gap!.inSample - r.gap!.outOfSample, 10);
    const text = sweepText(r, 10, 'x.db');
    expect(text).toMatch(/window +train +test +chosen parameters +IS sharpe +OOS sharpe/);
    expect(text).toMatch(/out of sample \(stitched\): return -?\d+\.\d\d%/);
    expect(text).toMatch(/in-sample sharpe -?\d+\.\d\d vs out-of-sample -?\d+\.\d\d: gap/);
    const png = await heatmapPng(r, parseParam('strategy.params.fast=5:15:5'), parseParam('strategy.params.slow=20,40'));
    expect(pngInfo(png)).toEqual({ width: 960, height: 600 });
    store.close();
  });

  it('the ranking table names each figure once: ranked by return, the objective column is the return, in %', async () => {
    const store = new ResultsStore(':memory:');
    const r = await runSweep(base(store, new InlineExecutor(), { objective: 'return' }));
    const [head, , first] = sweepText(r, 10, 'x.db').split('\n').slice(1);
    expect(head).toMatch(/^# +parameters +return +max DD +sharpe +trades +rules$/);
    expect(first).toMatch(/^1 +fast=\d+ slow=\d+ +-?\d+\.\d\d% +\d+\.\d\d% +-?\d+\.\d\d +\d+ /);
    const bySharpe = sweepText(await runSweep(base(store, new InlineExecutor())), 10, 'x.db').split('\n')[1];
    expect(bySharpe).toMatch(/^# +parameters +sharpe +return +max DD +sortino +trades +rules$/);
    store.close();
  });

  it('a window the data does not cover, or too short for walk-forward, is refused naming the file', async () => {
    const store = new ResultsStore(':memory:');
    await expect(runSweep(base(store, new InlineExecutor(), { from: T0 - DAY }))).rejects.toThrow(
      /btc_1h\.csv covers .* not the requested window/,
    );
    await expect(runSweep(base(store, new InlineExecutor(), { walkForward: parseWalkForward('1y:1m', false) }))).rejects.toThrow(
      /too short for one walk-forward window/,
    );
    expect(store.count('any')).toBe(0);
    store.close();
  });

  it('successive halving keeps the best third on ever longer spans', async () => {
    const store = new ResultsStore(':memory:');
    const r = await runSweep(base(store, new InlineExecutor(), { search: { kind: 'halving', eta: 3, seed: 1 } }));
    const phases = store.runs(r.sweepId).map((x) => x.phase);
    expect(phases.filter((p) => p === 'train-r0')).toHaveLength(6);
    expect(phases.filter((p) => p === 'train-r1')).toHaveLength(2);
    expect(r.ranking).toHaveLength(2);
    store.close();
  });
});

describe('stress', () => {
  it('shocks: a gap stays down, a flash crash recovers within the hour, doubled volatility doubles moves', () => {
    const c = generateCandles({ count: 300, timeframe: '1m', startTs: T0, seed: 5 });
    const at = T0 + 100 * 60_000;
    const gap = applyShock(c, { kind: 'gap_down', at }, 60_000);
    expect(gap[100]!.open).toBeCloseTo(c[100]!.open * 0.7, 6);
    expect(gap[99]).toEqual(c[99]);
    const flash = applyShock(c, { kind: 'flash_crash', at }, 60_000);
    expect(Math.min(...flash.slice(100, 160).map((x) => x.low / c[flash.indexOf(x)]!.low))).toBeCloseTo(0.75, 2);
    expect(flash[160]).toEqual(c[160]);
    const vol = applyShock(c, { kind: 'double_vol', at }, 60_000);
    const ret = (a: typeof c, i: number) => Math.log(a[i]!.close / a[i - 1]!.close);
    expect(ret(vol, 150)).toBeCloseTo(2 * ret(c, 150), 9);
  });

  it('matches crash windows to the files covering them, adds shocks, and runs them', async () => {
    const d = mkdtempSync(join(tmpdir(), 'skipper-stress-'));
    try {
      // 1h BTC data around the May 2021 crash; an ETH file the config does not trade.
      await generateCsv(join(d, 'binance_spot_BTCUSDT_1h_2021-04-01_2021-06-01.csv'), 24 * 61, 2, {
        timeframe: '1h',
        startTs: Date.UTC(2021, 3, 1),
        startPrice: 50_000,
      });
      await generateCsv(join(d, 'binance_spot_ETHUSDT_1h_2021-04-01_2021-06-01.csv'), 24 * 61, 3, {
        timeframe: '1h',
        startTs: Date.UTC(2021, 3, 1),
      });
      const config = cfg({ market: { type: 'perp', timeframe: '1h', symbols: ['BTC/USDT'], leverage: 2 }, risk: { maxLeverage: 3 } });
      const plan = planStress(config, scanDataDir(d));
      expect(plan.cases.map((c) => c.id)).toEqual(['may-2021', 'baseline', 'gap_down', 'flash_crash', 'double_vol', 'funding_spike']);
      expect(plan.uncovered).toHaveLength(3);
      expect(plan.uncovered[0]).toMatch(/COVID.*no BTC\/USDT file at 1h or finer/);
      const rows = await runStress(plan, new InlineExecutor());
      expect(rows.every((r) => r.result)).toBe(true);
      const byId = new Map(rows.map((r) => [r.case.id, r.result!]));
      expect(byId.get('may-2021')!.from).toBe(Date.UTC(2021, 4, 16));
      const gap = byId.get('gap_down')!;
      const baseline = byId.get('baseline')!;
      if (gap.metrics.exposure > 0) expect(gap.worst_day).toBeLessThan(baseline.worst_day);
      expect(byId.get('funding_spike')!.funding.payments).toBeGreaterThanOrEqual(0);
      // A shock that met a flat (or blocked) bot is said to have changed nothing, not shown as survived.
      const flat = rows.map((r) =>
        r.case.id === 'gap_down' ? { ...r, result: { ...r.result!, final_equity: baseline.final_equity, metrics: baseline.metrics } } : r,
      );
      const changed = rows.map((r) => (r.case.id === 'gap_down' ? { ...r, result: { ...r.result!, final_equity: -1 } } : r));
      expect(unchangedByShock(flat).join('\n')).toMatch(/^unchanged by the shock, BTC\/USDT: (.*; )?−30 % gap open(;|\s—)/);
      expect(unchangedByShock(changed).join('\n')).not.toContain('gap open');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('select (golden rules)', () => {
  it('ranks candidates: those passing every rule first; the documented rules are the default', async () => {
    expect(parseConfig({}).research.rules).toEqual([...DEFAULT_GOLDEN_RULES]);
    expect(() => parseConfig({ research: { rules: ['sharp>=1'] } })).toThrow(/research\.rules\.0.*unknown metric "sharp"/);
    const raw = { market: { timeframe: '1h' }, risk: { maxConsecutiveLosses: 0 } };
    const store = new ResultsStore(':memory:');
    const verdicts = await select({
      raw,
      candidates: [
        { name: 'sma', overlay: { strategy: { name: 'sma-cross' } } },
        { name: 'ema', overlay: { strategy: { name: 'ema-cross' } } },
        { name: 'macd', overlay: { strategy: { name: 'macd' } } },
      ],
      data: { 'BTC/USDT': btc },
      specs: [],
      objective: 'sharpe',
      require: [],
      rules: parseRules('max_drawdown<=1,trades>=1'),
      store,
      executor: new InlineExecutor(),
      clock: new SimClock(1),
    });
    expect(verdicts.map((v) => v.candidate).sort()).toEqual(['ema', 'macd', 'sma']);
    const firstFail = verdicts.findIndex((v) => !v.passed);
    if (firstFail >= 0) expect(verdicts.slice(firstFail).every((v) => !v.passed)).toBe(true);
    const strict = parseRules('sharpe>=100');
    expect(verdicts.every((v) => !strict.every((r) => v.figures.metrics[r.metric as 'sharpe'] >= r.value))).toBe(true);
    store.close();
  });
});

// Candidate overlay files (skipper select --candidates DIR).
describe('candidate files', () => {
  it('reads each YAML/JSON file in a folder as one candidate', async () => {
    const { candidatesFrom } = await import('../../src/research/select.ts');
    const d = mkdtempSync(join(tmpdir(), 'skipper-cand-'));
    writeFileSync(join(d, 'a.yaml'), 'strategy: { name: macd }\n');
    writeFileSync(join(d, 'b.json'), '{"strategy":{"name":"bollinger"}}');
    expect(candidatesFrom(d).map((c) => c.name)).toEqual(['a', 'b']);
    writeFileSync(join(d, 'c.yaml'), '- not a mapping\n');
    expect(() => candidatesFrom(d)).toThrow(/c\.yaml: expected a mapping/);
    rmSync(d, { recursive: true, force: true });
  });
});
