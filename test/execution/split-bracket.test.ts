// A split strategy entry keeps the protection its signal promised: the signal's own stop-loss and
// take-profit (atrStop, a model's levels), for the whole position its slices build — also with
// risk.stopLossPct off, and across a restart mid-parent — as the same entry sent whole gets.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionConfig } from '../../src/execution/config.ts';
import { Journal } from '../../src/journal/journal.ts';
import type { RiskLimits } from '../../src/risk/types.ts';
import { tempDir } from '../helpers/harness.ts';
import { MIN, rig, SYM, T0, type RigOptions } from '../helpers/engine-rig.ts';

const SPLIT: Partial<ExecutionConfig> = { algo: 'twap', aboveNotional: 1000, slices: 4, intervalSec: 120, signals: true };
const PROMISE = { stopLoss: 95, takeProfit: 110 };

function setup(limits: Partial<RiskLimits>, opts: RigOptions = {}) {
  const r = rig(
    { 0: 'enter_long' },
    {
      limits: { sizing: 'fixed', fixedQuote: 4000, maxCapitalInUse: 1, ...limits },
      store: true,
      extra: PROMISE,
      execution: SPLIT,
      ...opts,
    },
  );
  const flat = (n: number) => {
    for (let i = 0; i < n; i++) r.candle(100, 100, 100, 100);
  };
  return { r, flat };
}

function protection(r: ReturnType<typeof setup>['r']) {
  const pos = r.engine.portfolio.positions.get(SYM)!;
  const stops = [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
  return { qty: pos.qty, stopLoss: pos.stopLoss, takeProfit: pos.takeProfit, stops: stops.map((o) => [o.stopPrice, o.qty]) };
}

describe('split strategy entries keep the signal’s stop-loss and take-profit', () => {
  for (const stopLossPct of [null, 0.02]) {
    it(`stopLossPct ${stopLossPct ?? 'off'}: stop 95 and take-profit 110 for the whole position`, () => {
      const { r, flat } = setup({ stopLossPct });
      flat(12);
      const [p] = r.algos.parents.recent(1);
      expect(p).toMatchObject({ status: 'done', sent: 4 });
      const got = protection(r);
      expect(got.qty).toBeCloseTo(p!.totalQty, 9);
      expect(got).toMatchObject({ stopLoss: 95, takeProfit: 110 });
      expect(got.stops).toEqual([[95, got.qty]]);
    });
  }

  it('a restart mid-parent: the slices after it carry the same promise', () => {
    const journal = new Journal({ path: join(tempDir(), 'j.db') });
    // stopLossPct on: a slice that lost the promise would bring its default (2 % under its price, 98).
    const before = setup({ stopLossPct: 0.02 }, { journal });
    before.flat(3); // slices 1 and 2 sent
    expect(before.r.algos.parents.recent(1)[0]).toMatchObject({ status: 'active', sent: 2 });
    const after = setup({ stopLossPct: 0.02 }, { journal, t0: T0 + 3 * MIN });
    after.flat(8);
    const [p] = after.r.algos.parents.recent(1);
    expect(p).toMatchObject({ status: 'done', sent: 4 });
    const got = protection(after.r);
    expect(got).toMatchObject({ stopLoss: 95, takeProfit: 110 });
    expect(got.stops).toEqual([[95, got.qty]]);
    expect(after.r.algos.parents.children(p!.id).map((o) => o.takeProfit)).toEqual([110, 110, 110, 110]);
    journal.close();
  });
});
