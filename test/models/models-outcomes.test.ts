import { describe, expect, it } from 'vitest';
import { OutcomeTracker, scoreOutcome, summarize, type PredictionRecord } from '../../src/models/outcomes.ts';

const p = (over: Partial<PredictionRecord>): PredictionRecord => ({
  model: 'a',
  version: 1,
  ts: 0,
  action: 'buy',
  confidence: 0.7,
  horizon: 3,
  price: 100,
  threshold: 0.01,
  ...over,
});

describe('outcome scoring', () => {
  it('direction hit, realized return and the return of following it', () => {
    expect(scoreOutcome(p({ action: 'buy' }), 102)).toMatchObject({
      ret: expect.closeTo(0.02, 12),
      realized: 'buy',
      hit: true,
      followed: expect.closeTo(0.02, 12),
    });
    expect(scoreOutcome(p({ action: 'sell' }), 102)).toMatchObject({ hit: false, followed: expect.closeTo(-0.02, 12) });
    expect(scoreOutcome(p({ action: 'sell' }), 99.5)).toMatchObject({ realized: 'hold', hit: true, followed: expect.closeTo(0.005, 12) });
    expect(scoreOutcome(p({ action: 'hold' }), 130)).toMatchObject({ hit: null, followed: null, realized: 'buy' });
    expect(() => scoreOutcome(p({ price: 0 }), 1)).toThrow(/prices must be > 0/);
  });

  it('Brier score over [sell, hold, buy] against the realized class', () => {
    expect(scoreOutcome(p({ dist: [0, 0, 1] }), 105).brier).toBe(0);
    expect(scoreOutcome(p({ dist: [0, 0, 1] }), 95).brier).toBe(2);
    expect(scoreOutcome(p({ dist: [0.2, 0.3, 0.5] }), 100).brier).toBeCloseTo(0.04 + 0.49 + 0.25);
    expect(scoreOutcome(p({}), 105).brier).toBeNull();
  });

  it('per model version: hit rate, mean return when followed, Brier, calibration buckets', () => {
    const outs = [
      scoreOutcome(p({ confidence: 0.95, dist: [0, 0.05, 0.95] }), 103),
      scoreOutcome(p({ confidence: 0.92, dist: [0, 0.08, 0.92] }), 97),
      scoreOutcome(p({ confidence: 0.55, action: 'sell' }), 98),
      scoreOutcome(p({ confidence: 0.6, action: 'hold' }), 100),
      scoreOutcome(p({ version: 2, confidence: 1 }), 101),
    ];
    const [v1, v2] = summarize(outs);
    expect(v1).toMatchObject({ model: 'a', version: 1, predictions: 4, directional: 3, hits: 2 });
    expect(v1!.hitRate).toBeCloseTo(2 / 3);
    expect(v1!.meanReturn).toBeCloseTo((0.03 - 0.03 + 0.02) / 3);
    expect(v1!.brier).toBeCloseTo((0.05 ** 2 + 0.05 ** 2 + (1 + 0.08 ** 2 + 0.92 ** 2)) / 2);
    expect(v1!.calibration).toEqual([
      { from: 0.5, to: 0.6, n: 1, meanConfidence: 0.55, hitRate: 1 },
      { from: 0.9, to: 1, n: 2, meanConfidence: expect.closeTo(0.935, 12), hitRate: 0.5 },
    ]);
    expect(v2).toMatchObject({ version: 2, directional: 1, hitRate: 1, calibration: [expect.objectContaining({ from: 0.9, n: 1 })] });
    expect(Number.isNaN(v2!.brier)).toBe(true);
  });

  it('the tracker scores each prediction at the close of its horizon; one whose horizon candle is missing is not scored', () => {
    const t = new OutcomeTracker(60_000);
    t.add(p({ ts: 60_000, horizon: 2 })); // due 180 000
    t.add(p({ ts: 60_000, horizon: 1, action: 'sell' })); // due 120 000: added second, due first
    expect(t.onClose(60_000, 100)).toEqual({ scored: [], missed: [] });
    const first = t.onClose(120_000, 101);
    expect(first.scored.map((o) => o.prediction.action)).toEqual(['sell']);
    expect(first.missed).toEqual([]);
    expect(t.waiting).toBe(1);
    // A gap: the candle closing at 180 000 never came. The next close, a bar or hours later, does not score it.
    const second = t.onClose(240_000, 99);
    expect(second.scored).toEqual([]);
    expect(second.missed.map((x) => x.horizon)).toEqual([2]);
    expect(t.waiting).toBe(0);
  });
});

describe('the hit-rate floor alert', () => {
  it('fires once per crossing: a rate hovering at the floor does not alert again until it was back a margin above', async () => {
    const { FloorWatch, FLOOR_REARM_MARGIN } = await import('../../src/models/floor.ts');
    const w = new FloorWatch();
    const seq = [0.46, 0.449, 0.45, 0.449, 0.451, 0.448, 0.45 + FLOOR_REARM_MARGIN - 0.001, 0.449, 0.45 + FLOOR_REARM_MARGIN, 0.44];
    expect(seq.map((r) => w.crossedBelow('m@1', r, 0.45))).toEqual([false, true, false, false, false, false, false, false, false, true]);
    expect(w.crossedBelow('other@1', 0.1, 0.45)).toBe(true); // per model version
  });
});
