// Perps with allowShort and split strategy entries: a flip (long → short) closes the long whole, then builds the
// short in slices once the long is gone — the same end as with entries sent whole.
import { describe, expect, it } from 'vitest';
import { rig, SYM } from '../helpers/engine-rig.ts';

function flip(signals: boolean) {
  const r = rig(
    { 0: 'enter_long', 12: 'enter_short' },
    {
      marketType: 'perp',
      allowShort: true,
      store: true,
      limits: { sizing: 'fixed', fixedQuote: 4000, stopLossPct: 0.05, maxCapitalInUse: 1 },
      execution: { algo: 'twap', aboveNotional: 1000, slices: 4, intervalSec: 120, signals },
    },
  );
  for (let i = 0; i < 24; i++) r.candle(100, 100, 100, 100);
  return r;
}

describe('a split entry that flips the position', () => {
  it('waits for the exit of the other side, then builds the short', () => {
    const whole = flip(false).engine.portfolio.positions.get(SYM);
    expect(whole?.side).toBe('short');
    const r = flip(true);
    const [short, long] = r.algos.parents.recent(2);
    expect(long).toMatchObject({ side: 'buy', status: 'done' });
    expect(short).toMatchObject({ side: 'sell', status: 'done', sent: 4, reason: null });
    const pos = r.engine.portfolio.positions.get(SYM);
    expect(pos?.side).toBe('short');
    expect(pos?.qty).toBeCloseTo(short!.totalQty, 9);
    expect(r.journal.recentDecisions(50).filter((d) => d.verdictRule === 'exit_in_flight')).toEqual([]);
    const stops = [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    expect(stops.map((o) => [o.side, o.qty])).toEqual([['buy', pos!.qty]]);
  });
});
