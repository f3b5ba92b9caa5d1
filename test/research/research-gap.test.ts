// The walk-forward in-sample/out-of-sample gap: one definition on both sides (the mean of one per-window
// figure over the same windows), the stitched curve's figure reported apart.
import { describe, expect, it } from 'vitest';
import { sweepText } from '../../src/research/cli.ts';
import type { RunFigures } from '../../src/research/objective.ts';
import { gapOf, type SweepReport, type WindowReport } from '../../src/research/sweep.ts';
import type { Stitched } from '../../src/research/walk-forward.ts';

const DAY = 86_400_000;

function fig(m: Partial<RunFigures['metrics']>): RunFigures {
  return {
    metrics: {
      total_return: 0,
      cagr: 0,
      sharpe: 0,
      sortino: 0,
      calmar: 0,
      max_drawdown: 0.1,
      win_rate: 0.5,
      profit_factor: 1,
      expectancy: 0,
      exposure: 0.5,
      fees: 0,
      trades: 4,
      final_equity: 10_000,
      ...m,
    },
    worst_day: 0,
    time_under_water: 0,
    breaker_trips: 0,
    halts: 0,
    liquidations: 0,
  };
}

function win(i: number, is: Partial<RunFigures['metrics']>, oos: Partial<RunFigures['metrics']> | null): WindowReport {
  const t0 = i * 70 * DAY;
  return {
    index: i,
    train: [t0, t0 + 56 * DAY],
    test: [t0 + 56 * DAY, t0 + 70 * DAY],
    best: { point: { 'strategy.params.fast': 5 }, figures: fig(is), objective: NaN, passed: true, failed: [] },
    oos: oos === null ? null : { figures: fig(oos), objective: NaN, passed: true },
  };
}

const stitched: Stitched = { equity: [], total_return: 0.05, cagr: 0.3, sharpe: 0.7, max_drawdown: 0.15, trades: 9, win_rate: 0.5 };

describe('the in-sample/out-of-sample gap', () => {
  it('is the mean per-window objective on both sides, over the windows both sides have; the stitched figure apart', () => {
    const windows = [win(0, { sharpe: 2 }, { sharpe: 0.5 }), win(1, { sharpe: 1 }, { sharpe: -0.5 }), win(2, { sharpe: 3 }, null)];
    expect(gapOf(windows, 'sharpe', stitched)).toEqual({
      metric: 'sharpe',
      windows: 2,
      inSample: 1.5,
      outOfSample: 0,
      diff: 1.5,
      stitched: 0.7,
    });
  });

  it('for the return objective it compares CAGR (a 2-month train window and a 2-week test window differ in length)', () => {
    const windows = [
      win(0, { total_return: 0.2, cagr: 2 }, { total_return: 0.05, cagr: 1.4 }),
      win(1, { total_return: 0.1, cagr: 0.8 }, { total_return: 0, cagr: 0 }),
    ];
    const g = gapOf(windows, 'return', stitched)!;
    expect(g).toMatchObject({ metric: 'cagr', windows: 2, stitched: 0.3 });
    expect(g.inSample).toBeCloseTo(1.4, 12);
    expect(g.outOfSample).toBeCloseTo(0.7, 12);
  });

  it('the table says what IS, OOS and the gap are, and prints the stitched figure beside the gap', () => {
    const windows = [win(0, { sharpe: 2 }, { sharpe: 0.5 }), win(1, { sharpe: 1 }, { sharpe: -0.5 })];
    const report: SweepReport = {
      sweepId: 'x',
      objective: 'sharpe',
      points: 1,
      skipped: [],
      runs: 4,
      cached: 0,
      errors: [],
      ranking: [],
      rankings: [],
      windows,
      stitched,
      gap: gapOf(windows, 'sharpe', stitched),
    };
    const text = sweepText(report, 10, 'x.db');
    expect(text).toContain('the gap is the mean per-window sharpe in sample minus the mean per-window sharpe out of sample');
    expect(text).toContain(
      "gap, mean of 2 windows: in-sample sharpe 1.50 vs out-of-sample 0.00: gap 1.50 (large: likely overfit); the stitched curve's sharpe: 0.70",
    );
  });
});
