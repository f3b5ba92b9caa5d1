// /models' live figures are summed up in SQLite (ModelJournal.summary): the same score as summarize() over
// the same outcomes in memory (what the trainer reports), for any mix of predictions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.ts';
import { ACTIONS } from '../../src/models/manifest.ts';
import { scoreOutcome, summarize, type ModelScore } from '../../src/models/outcomes.ts';
import { ModelJournal } from '../../src/models/predictions-journal.ts';

const prediction = fc.record({
  action: fc.constantFrom(...ACTIONS),
  // Bucket edges (0.3, 0.9, 1) and values outside [0, 1] (clamped) among them.
  confidence: fc.oneof(fc.constantFrom(0, 0.1, 0.3, 0.9, 0.99, 1, 1.2, -0.1), fc.double({ min: 0, max: 1, noNaN: true })),
  dist: fc.option(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { nil: undefined }),
  exit: fc.double({ min: 50, max: 150, noNaN: true }),
  version: fc.constantFrom(1, 2),
});

const close = (a: number, b: number) => (Number.isNaN(a) ? expect(b).toBeNaN() : expect(b).toBeCloseTo(a, 9));
function same(js: ModelScore, sql: ModelScore | undefined): void {
  expect(sql).toBeDefined();
  expect({ ...sql!, hitRate: 0, meanReturn: 0, brier: 0, calibration: [] }).toEqual({
    ...js,
    hitRate: 0,
    meanReturn: 0,
    brier: 0,
    calibration: [],
  });
  close(js.hitRate, sql!.hitRate);
  close(js.meanReturn, sql!.meanReturn);
  close(js.brier, sql!.brier);
  expect(sql!.calibration.map((b) => [b.from, b.to, b.n])).toEqual(js.calibration.map((b) => [b.from, b.to, b.n]));
  js.calibration.forEach((b, i) => {
    close(b.meanConfidence, sql!.calibration[i]!.meanConfidence);
    close(b.hitRate, sql!.calibration[i]!.hitRate);
  });
}

describe('ModelJournal.summary', () => {
  it('is summarize() of the same scored predictions, per version', () => {
    fc.assert(
      fc.property(fc.array(prediction, { minLength: 1, maxLength: 60 }), (ps) => {
        const journal = new Journal({ path: ':memory:' });
        try {
          const store = new ModelJournal(journal.sqlite, 60_000);
          const outcomes = ps.map((p, i) => {
            const dist = p.dist === undefined ? undefined : [p.dist[0] / 2, p.dist[1] / 2, 1 - p.dist[0] / 2 - p.dist[1] / 2];
            const row = store.addPrediction('BTC/USDT', {
              model: 'm',
              version: p.version,
              ts: i * 60_000,
              action: p.action,
              confidence: p.confidence,
              ...(dist !== undefined ? { dist } : {}),
              horizon: 1,
              threshold: 0.01,
              price: 100,
            });
            const o = scoreOutcome(row, p.exit);
            store.score(row.id, o);
            return o;
          });
          for (const js of summarize(outcomes)) same(js, store.summary('m', js.version));
          expect(store.summary('m', 3)).toBeUndefined();
        } finally {
          journal.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
