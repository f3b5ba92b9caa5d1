// Combining votes, the model/ensemble strategies (confidence gate, failing members, stale inputs), and a run
// through the real engine on the paper exchange with the prepare → onCandle hook.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/core/clock.ts';
import type { Candle, Signal } from '../../src/core/types.ts';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import { PaperExchange } from '../../src/exchange/paper/index.ts';
import { Journal } from '../../src/journal/journal.ts';
import { CandleValidator } from '../../src/market/validator.ts';
import { combine, ensembleSchema, type MemberVote } from '../../src/models/ensemble.ts';
import type { LoadedModel, ModelPrediction } from '../../src/models/model.ts';
import { batchPredictions, type PredictionTrack } from '../../src/models/backtest.ts';
import { ModelSet, type ModelEvent } from '../../src/models/model-set.ts';
import { ModelStrategy, type ModelStrategyOptions } from '../../src/models/strategy.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS } from '../../src/risk/types.ts';
import type { StrategyContext } from '../../src/strategy/types.ts';
import { testCandles, tmpModels, writeTinyModel } from '../helpers/models.ts';

const pred = (action: ModelPrediction['action'], dist: [number, number, number]): ModelPrediction => ({
  action,
  confidence: dist[['sell', 'hold', 'buy'].indexOf(action)]!,
  dist,
});
const v = (weight: number, p: ModelPrediction): MemberVote => ({ weight, prediction: p });

describe('combine', () => {
  const buy = pred('buy', [0.1, 0.2, 0.7]);
  const sell = pred('sell', [0.6, 0.3, 0.1]);
  const hold = pred('hold', [0.2, 0.5, 0.3]);

  it('vote: the majority wins; confidence = mean confidence of the winners × their share', () => {
    const c = combine([v(1, buy), v(1, buy), v(1, sell)], 'vote');
    expect(c.action).toBe('buy');
    expect(c.agreement).toBeCloseTo(2 / 3);
    expect(c.confidence).toBeCloseTo(0.7 * (2 / 3));
  });

  it('vote: a tie is a hold', () => {
    expect(combine([v(1, buy), v(1, sell)], 'vote').action).toBe('hold');
    expect(combine([v(1, buy), v(1, sell), v(1, hold)], 'vote').action).toBe('hold');
  });

  it('weighted: distributions averaged with the weights; confidence = probability × weighted agreement', () => {
    const c = combine([v(3, buy), v(1, sell)], 'weighted');
    expect(c.dist[2]).toBeCloseTo((3 * 0.7 + 0.1) / 4);
    expect(c.action).toBe('buy');
    expect(c.confidence).toBeCloseTo(((3 * 0.7 + 0.1) / 4) * 0.75);
    expect(combine([v(1, buy), v(3, sell)], 'weighted').action).toBe('sell');
  });

  it('weight 0 members and an empty ensemble do not count; confidence stays in [0, 1]', () => {
    expect(combine([v(0, buy), v(1, sell)], 'vote').action).toBe('sell');
    expect(combine([], 'weighted')).toMatchObject({ action: 'hold', confidence: 0 });
    for (const mode of ['vote', 'weighted'] as const) {
      const c = combine([v(5, pred('buy', [0, 0, 1])), v(2, pred('buy', [0, 0, 1]))], mode);
      expect(c.confidence).toBe(1);
    }
  });

  it('the ensemble file is validated', () => {
    expect(ensembleSchema.parse({ schemaVersion: 1, members: [{ model: 'a' }] })).toEqual({
      schemaVersion: 1,
      mode: 'weighted',
      minConfidence: 0.5,
      members: [{ model: 'a', weight: 1 }],
    });
    expect(ensembleSchema.safeParse({ schemaVersion: 1, members: [] }).success).toBe(false);
  });
});

const FLAT: StrategyContext = { symbol: 'BTC/USDT', position: null, pending: false, allowShort: false };

describe('model strategies', () => {
  let root: string;
  let set: ModelSet;
  const events: ModelEvent[] = [];
  beforeAll(async () => {
    root = tmpModels();
    set = new ModelSet();
    set.on('model', (e) => events.push(e));
    for (const [name, lean] of [
      ['up', 'up'],
      ['up2', 'up'],
      ['down', 'down'],
      ['hold', 'hold'],
    ] as const)
      await set.load(await writeTinyModel(root, { name, lean }));
    await set.load(await writeTinyModel(root, { name: 'weak', lean: 'up', strength: 50, holdBias: -5 }));
    expect(events.map((e) => e.type)).toEqual(['loaded', 'loaded', 'loaded', 'loaded', 'loaded']);
  });
  afterAll(async () => {
    await set.close();
    rmSync(root, { recursive: true, force: true });
  });

  const strategy = (o: Partial<ModelStrategyOptions> & Pick<ModelStrategyOptions, 'members'>) =>
    new ModelStrategy({ name: 'ensemble', symbol: 'BTC/USDT', set, mode: 'vote', minConfidence: 0, timeframeMs: 60_000, ...o });

  /** prepare + onCandle per candle, like the feed does; returns the signals. */
  async function run(
    s: ModelStrategy,
    candles: Candle[],
    ctx: (i: number) => StrategyContext = () => FLAT,
  ): Promise<Array<Signal & { i: number }>> {
    const out: Array<Signal & { i: number }> = [];
    for (let i = 0; i < candles.length; i++) {
      await s.prepare(candles[i]!, ctx(i));
      const sig = s.onCandle(candles[i]!, ctx(i));
      if (sig) out.push({ ...sig, i });
    }
    return out;
  }

  it('one model: enters long after a rising candle, with confidence, features and its vote on the signal', async () => {
    const s = new ModelStrategy({
      name: 'model',
      symbol: 'BTC/USDT',
      set,
      members: [{ model: 'up', weight: 1 }],
      mode: 'vote',
      minConfidence: 0,
      timeframeMs: 60_000,
    });
    expect(s.warmup).toBe(6);
    const cs = testCandles(60, 4);
    const sigs = await run(s, cs);
    expect(sigs.length).toBeGreaterThan(5);
    const first = sigs[0]!;
    expect(first.i).toBeGreaterThanOrEqual(5);
    expect(first.action).toBe('enter_long');
    expect(cs[first.i]!.close).toBeGreaterThan(cs[first.i - 1]!.close);
    expect(first.ts).toBe(cs[first.i]!.ts + 60_000);
    expect(first.confidence).toBeGreaterThan(0.5);
    expect(Object.keys(first.features!)).toEqual(['ret_1', 'rsi_5', 'body']);
    expect(first.votes).toEqual([expect.objectContaining({ model: 'up', version: 1, action: 'buy', weight: 1 })]);
    expect(first.reason).toMatch(/^model vote: buy at confidence 0\.\d+ \(up v1 buy 0\.\d+\)$/);
  });

  it('vote: two up members outvote one down member; a 1–1 tie holds', async () => {
    const cs = testCandles(60, 4);
    const majority = await run(
      strategy({
        members: [
          { model: 'up', weight: 1 },
          { model: 'up2', weight: 1 },
          { model: 'down', weight: 1 },
        ],
      }),
      cs,
    );
    const single = await run(strategy({ members: [{ model: 'up', weight: 1 }] }), cs);
    expect(majority.map((s) => s.i)).toEqual(single.map((s) => s.i));
    expect(majority[0]!.votes!.map((x) => x.action)).toEqual(['buy', 'buy', 'sell']);
    expect(
      await run(
        strategy({
          members: [
            { model: 'up', weight: 1 },
            { model: 'down', weight: 1 },
          ],
        }),
        cs,
      ),
    ).toEqual([]);
  });

  it('weighted: the heavier member decides', async () => {
    const cs = testCandles(60, 4);
    const sigs = await run(
      strategy({
        mode: 'weighted',
        members: [
          { model: 'up', weight: 1 },
          { model: 'down', weight: 3 },
        ],
      }),
      cs,
      () => ({ ...FLAT, position: 'long' }),
    );
    expect(sigs.length).toBeGreaterThan(0);
    expect(sigs.every((s) => s.action === 'exit_long')).toBe(true);
  });

  it('below the minimum confidence no entry is made, but exits still happen', async () => {
    const cs = testCandles(80, 4);
    const weak = await run(strategy({ members: [{ model: 'weak', weight: 1 }], minConfidence: 0.9 }), cs);
    expect(weak).toEqual([]);
    const exits = await run(strategy({ members: [{ model: 'weak', weight: 1 }], minConfidence: 0.9 }), cs, () => ({
      ...FLAT,
      position: 'long',
    }));
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.every((s) => s.action === 'exit_long' && s.confidence! < 0.9)).toBe(true);
  });

  it('a failing member (NaN outputs) is reported once and left out; the rest of the ensemble keeps trading', async () => {
    const dir = await writeTinyModel(root, { name: 'broken', holdBias: NaN });
    const { loadModel } = await import('../../src/models/loader.ts');
    set.slots.set('broken', { name: 'broken', dir, current: await loadModel(dir, { golden: false }), enabled: true, lastError: null });
    const before = events.length;
    const cs = testCandles(60, 4);
    const sigs = await run(
      strategy({
        members: [
          { model: 'up', weight: 1 },
          { model: 'broken', weight: 5 },
        ],
      }),
      cs,
    );
    expect(sigs.length).toBeGreaterThan(5);
    expect(sigs[0]!.votes).toEqual([
      expect.objectContaining({ model: 'up', action: 'buy' }),
      expect.objectContaining({ model: 'broken', error: expect.stringMatching(/outputs\.probabilities: the model returned NaN/) }),
    ]);
    const failed = events.slice(before).filter((e) => e.type === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ name: 'broken', version: 1 });
    expect(set.slots.get('broken')!.lastError).toMatch(/NaN/);
  });

  it('a disabled member stops voting at the next candle', async () => {
    const s = strategy({
      members: [
        { model: 'up', weight: 1 },
        { model: 'up2', weight: 1 },
      ],
    });
    const cs = testCandles(60, 4);
    set.slots.get('up2')!.enabled = false;
    try {
      const sigs = await run(s, cs);
      expect(sigs[0]!.votes!.map((x) => x.model)).toEqual(['up']);
    } finally {
      set.slots.get('up2')!.enabled = true;
    }
  });

  it('a prepared candle that the engine then rejects changes nothing; a candle without prepare only warms up', async () => {
    const cs = testCandles(60, 4);
    const clean = await run(strategy({ members: [{ model: 'up', weight: 1 }] }), cs);
    const s = strategy({ members: [{ model: 'up', weight: 1 }] });
    const out: number[] = [];
    for (let i = 0; i < cs.length; i++) {
      if (i % 7 === 3) await s.prepare({ ...cs[i]!, close: cs[i]!.close * 1.5 }, FLAT); // rejected: never reaches onCandle
      await s.prepare(cs[i]!, FLAT);
      if (s.onCandle(cs[i]!, FLAT)) out.push(i);
    }
    expect(out).toEqual(clean.map((x) => x.i));
    const warm = strategy({ members: [{ model: 'up', weight: 1 }] });
    for (const c of cs.slice(0, 30)) expect(warm.onCandle(c, FLAT)).toBeNull();
    const rest = [];
    for (let i = 30; i < cs.length; i++) {
      await warm.prepare(cs[i]!, FLAT);
      if (warm.onCandle(cs[i]!, FLAT)) rest.push(i);
    }
    expect(rest).toEqual(clean.map((x) => x.i).filter((i) => i >= 30));
  });

  it('per candle, the features and predictions match the batched path over hundreds of candles (the scratch pipeline catches up one candle at a time)', async () => {
    const cs = testCandles(500, 21);
    const members = [
      { model: 'weak', weight: 2 },
      { model: 'down', weight: 1 },
    ];
    const perCandle = await run(strategy({ members, mode: 'weighted' }), cs);
    const batched = new Map<LoadedModel, PredictionTrack>();
    for (const { model } of members) {
      const loaded = set.slots.get(model)!.current!;
      batched.set(loaded, await batchPredictions(loaded, cs));
    }
    const pre = strategy({ members, mode: 'weighted', precomputed: (m, ts) => batched.get(m)?.get(ts) ?? null });
    const fromBatch = cs.map((c, i) => ({ sig: pre.onCandle(c, FLAT), i })).filter((x) => x.sig !== null);
    expect(perCandle.length).toBeGreaterThan(20);
    const shape = (sig: Signal, i: number) => ({ i, action: sig.action, confidence: sig.confidence, features: sig.features });
    expect(perCandle.map((x) => shape(x, x.i))).toEqual(fromBatch.map((x) => shape(x.sig!, x.i)));
  });

  it('without recordFeatures (a backtest journal keeps no decisions) the batched path gives the same signals, without features', async () => {
    const cs = testCandles(500, 21);
    const members = [
      { model: 'weak', weight: 2 },
      { model: 'down', weight: 1 },
    ];
    const batched = new Map<LoadedModel, PredictionTrack>();
    for (const { model } of members) {
      const loaded = set.slots.get(model)!.current!;
      batched.set(loaded, await batchPredictions(loaded, cs));
    }
    const signals = (recordFeatures: boolean) => {
      const s = strategy({ members, mode: 'weighted', precomputed: (m, ts) => batched.get(m)?.get(ts) ?? null, recordFeatures });
      return cs.map((c, i) => ({ sig: s.onCandle(c, FLAT), i })).filter((x) => x.sig !== null);
    };
    const withFeatures = signals(true);
    const without = signals(false);
    expect(without.length).toBeGreaterThan(20);
    const shape = (x: { sig: Signal | null; i: number }) => ({
      i: x.i,
      action: x.sig!.action,
      confidence: x.sig!.confidence,
      reason: x.sig!.reason,
    });
    expect(without.map(shape)).toEqual(withFeatures.map(shape));
    expect(without.every((x) => x.sig!.features === undefined)).toBe(true);
    expect(withFeatures.every((x) => Object.keys(x.sig!.features!).length > 0)).toBe(true);
  });

  it('refuses unknown members and a model strategy with several models', () => {
    expect(() => strategy({ members: [{ model: 'ghost', weight: 1 }] })).toThrow(/model "ghost" is not loaded/);
    expect(() =>
      strategy({
        name: 'model',
        members: [
          { model: 'up', weight: 1 },
          { model: 'down', weight: 1 },
        ],
      }),
    ).toThrow(/exactly one model/);
  });

  it('through the engine: prepareCandle then onCandle trades on the paper exchange', async () => {
    const clock = new SimClock(Date.UTC(2025, 0, 1));
    const journal = Journal.memory();
    const market = {
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      type: 'spot' as const,
      qtyStep: 0.0001,
      priceStep: 0.01,
      minQty: 0.0001,
      minNotional: 1,
      maxLeverage: 1,
    };
    const venue = new PaperExchange({
      clock,
      marketType: 'spot',
      markets: [market],
      startingBalances: { USDT: 10_000 },
      makerFee: 0.001,
      takerFee: 0.001,
      slippageBps: 0,
    });
    const s = strategy({
      members: [
        { model: 'up', weight: 1 },
        { model: 'up2', weight: 1 },
      ],
    });
    const { engine } = buildEngine(parseConfig({ botId: 'sk', market: { symbols: ['BTC/USDT'], timeframe: '1m' } }), {
      mode: 'paper',
      clock,
      journal,
      exchange: venue,
      risk: new RiskEngine({ ...DEFAULT_LIMITS, minTradeIntervalSec: 0, maxConsecutiveLosses: 0 }),
      strategy: () => s,
      market: () => market,
      validator: () => new CandleValidator('BTC/USDT', '1m'),
      allowShort: false,
      leverage: 1,
      takerFee: 0.001,
      startingCash: 10_000,
      equityEveryMs: 3_600_000,
      persistProgress: false,
    });
    const cs = testCandles(80, 4);
    for (const c of cs) {
      clock.set(c.ts + 60_000);
      await engine.prepareCandle('BTC/USDT', c);
      engine.onCandle('BTC/USDT', c);
    }
    const fills = journal.sqlite.prepare('SELECT side FROM fills ORDER BY id').all() as Array<{ side: string }>;
    expect(fills.length).toBeGreaterThanOrEqual(2);
    expect(fills[0]!.side).toBe('buy');
    expect(fills.some((f) => f.side === 'sell')).toBe(true);
    journal.close();
  });
});

describe('engine.prepareCandle', () => {
  it('is undefined for strategies without prepare (their feeds stay synchronous)', async () => {
    const { rig, SYM } = await import('../helpers/engine-rig.ts');
    const r = rig({});
    expect(r.engine.prepareCandle(SYM, { ts: Date.UTC(2025, 0, 1), open: 1, high: 1, low: 1, close: 1, volume: 1 })).toBeUndefined();
    expect(r.engine.prepareCandle('ETH/USDT', { ts: Date.UTC(2025, 0, 1), open: 1, high: 1, low: 1, close: 1, volume: 1 })).toBeUndefined();
    r.journal.close();
  });

  it('hands a prepare the position and its unrealized PnL at the candle close (policies read both)', async () => {
    const { rig, SYM, MIN, T0 } = await import('../helpers/engine-rig.ts');
    const r = rig({ 0: 'enter_long' });
    const seen: Array<{ position: string | null; pnl: number | undefined }> = [];
    Object.assign(r.strategy, {
      prepare: (_c: Candle, ctx: StrategyContext) => {
        seen.push({ position: ctx.position, pnl: ctx.unrealizedPnlPct });
        return Promise.resolve();
      },
    });
    const prep = (i: number, close: number) =>
      r.engine.prepareCandle(SYM, { ts: T0 + i * MIN, open: close, high: close, low: close, close, volume: 1 });
    await prep(0, 100);
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100);
    const entry = r.engine.portfolio.positions.get(SYM)!.entryPrice;
    await prep(2, 110);
    expect(seen[0]).toEqual({ position: null, pnl: 0 });
    expect(seen[1]!.position).toBe('long');
    expect(seen[1]!.pnl).toBeCloseTo((110 - entry) / entry, 12);
    r.journal.close();
  });
});

describe('the shipped ensemble', () => {
  it('models/ensemble.json opens: every member loads and the strategy decides on real model outputs', async () => {
    const { openModels } = await import('../../src/models/open.ts');
    const { PROJECT_ROOT } = await import('../../src/core/paths.ts');
    const { join } = await import('node:path');
    const opened = await openModels(join(PROJECT_ROOT, 'models'));
    try {
      expect(opened.refused).toEqual([]);
      expect(opened.config.members.map((m) => m.model)).toEqual(['btc-logreg', 'btc-mlp', 'btc-ridge']);
      const s = opened.strategy('BTC/USDT', 60_000);
      expect(s.name).toBe('ensemble');
      expect(s.warmup).toBe(61);
      const cs = testCandles(150, 12);
      let votes = 0;
      for (const c of cs) {
        await s.prepare(c, FLAT);
        s.onCandle(c, FLAT);
        votes += opened.set.slots.get('btc-mlp')!.lastError === null ? 1 : 0;
      }
      expect(votes).toBe(cs.length);
    } finally {
      await opened.set.close();
    }
  });

  it('a bad ensemble file is refused with the file and the field', async () => {
    const { readEnsemble } = await import('../../src/models/open.ts');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tmpModels();
    writeFileSync(join(dir, 'ensemble.json'), JSON.stringify({ schemaVersion: 1, mode: 'majority', members: [{ model: 'a' }] }));
    expect(() => readEnsemble(join(dir, 'ensemble.json'))).toThrow(/ensemble\.json: mode: /);
    rmSync(dir, { recursive: true, force: true });
  });
});
