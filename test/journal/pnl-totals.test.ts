// /pnl's totals come from SQLite sums: the same figures as adding up the journal's rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, utcDayStart } from '../../src/core/clock.ts';
import { startBot, type Harness } from '../helpers/harness.ts';

describe('pnlTotals', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBot({ candles: 3000 });
  });
  afterAll(() => h.stop());

  it('counts, wins, net realized PnL and fees of a window equal the sums over its rows', () => {
    const j = h.bot.journal;
    const now = h.bot.engine.status().now;
    expect(j.closedPositions().length).toBeGreaterThan(2);
    for (const since of [0, now - 7 * DAY_MS, utcDayStart(now), now - 6 * 3600_000, now + 1]) {
      const closed = j.closedPositions({ since });
      const t = j.pnlTotals(since);
      expect(t.trades).toBe(closed.length);
      expect(t.wins).toBe(closed.filter((p) => p.realizedPnl - p.fees > 0).length);
      expect(t.realized).toBeCloseTo(
        closed.reduce((a, p) => a + p.realizedPnl - p.fees, 0),
        9,
      );
      expect(t.fees).toBeCloseTo(
        j.fills({ since }).reduce((a, f) => a + f.fee, 0),
        9,
      );
    }
  });
});
