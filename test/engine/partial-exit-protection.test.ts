// A partial exit on spot: the position's stop holds the coins the exit sells, so it is cancelled
// first — and what will be left is protected again in the same step, not only after the exit fills.
import { describe, expect, it } from 'vitest';
import type { Order } from '../../src/core/types.ts';
import { rig, SYM, type Rig } from '../helpers/engine-rig.ts';

const stops = (r: Rig): Order[] => [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
const flat = (r: Rig, px = 100): void => void r.candle(px, px, px, px);

describe('partial exit keeps the rest protected', () => {
  for (const marketType of ['spot', 'perp'] as const) {
    it(`${marketType}: between sending a partial /sell and its fill, a stop covers what will be left`, () => {
      const r = rig({}, { limits: { stopLossPct: 0.02 }, marketType });
      flat(r);
      r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
      flat(r);
      const [first] = stops(r);
      r.engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.4 }, 'ada');
      // Not filled yet (market orders fill on the next candle): the old stop is gone, the rest is covered.
      expect(r.engine.portfolio.positions.get(SYM)!.qty).toBe(1);
      expect(r.journal.getOrder(first!.clientOrderId)!.status).toBe('cancelled');
      expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: 0.6, status: 'open' })]);
      expect(r.engine.status().unprotected).toEqual([]);
      flat(r);
      expect(r.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(0.6, 9);
      expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: 0.6, status: 'open' })]);
      expect(r.engine.status().unprotected).toEqual([]);
      r.candle(100, 100, 97, 97.5); // the stop fires for the rest
      expect(r.engine.portfolio.positions.size).toBe(0);
    });
  }

  it('a full exit still lifts the stop while it works, and nothing is placed for an empty remainder', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'sell', qty: 1 }, 'ada');
    expect(stops(r)).toEqual([]);
    expect(r.engine.status().unprotected).toEqual([{ symbol: SYM, detail: 'stop-loss lifted while an exit order works' }]);
    flat(r);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(stops(r)).toEqual([]);
  });
});
