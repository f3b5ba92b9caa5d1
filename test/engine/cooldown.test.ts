// risk.cooldownAfterLossSec through the engine: a stop-loss closes a trade at a loss, and the
// strategy's next entry on that symbol waits out the cooldown (journaled as the decision's rule).
import { describe, expect, it } from 'vitest';
import { rig, SYM } from '../helpers/engine-rig.ts';

describe('cooldown after a loss', () => {
  it("refuses the symbol's entries until it has passed (candle time), then trades again", () => {
    const r = rig({ 0: 'enter_long', 4: 'enter_long', 12: 'enter_long' }, { limits: { stopLossPct: 0.02, cooldownAfterLossSec: 600 } });
    r.candle(100, 100, 100, 100); // 0: the entry signal
    r.candle(100, 100, 100, 100); // 1: fills at 100, stop 98
    expect(r.engine.portfolio.positions.get(SYM)?.stopLoss).toBe(98);
    r.candle(100, 100, 97, 97.5); // 2: the stop fires: a loss
    expect(r.engine.portfolio.positions.size).toBe(0);
    r.candle(97.5, 98, 97, 97.5); // 3
    r.candle(97.5, 98, 97, 97.5); // 4: the next entry signal, 2 min after the loss
    expect(r.engine.portfolio.positions.size).toBe(0);
    const refused = r.journal.recentDecisions(1)[0]!;
    expect(refused).toMatchObject({ verdict: 'reject', verdictRule: 'cooldown_after_loss' });
    expect(refused.verdictReason).toMatch(
      /^rejected: a BTC\/USDT trade closed at a loss 2 min ago; cooldown after a loss is 10 min: wait 8 min$/,
    );
    for (let i = 5; i <= 12; i++) r.candle(97.5, 98, 97, 97.5); // 12: ten minutes on
    r.candle(97.5, 98, 97, 97.5);
    expect(r.engine.portfolio.positions.get(SYM)?.qty).toBeGreaterThan(0);
  });
});
