// Every closed trade says why it closed (positions.exit_reason), from the order whose fill closed it:
// the strategy's exit, its stop-loss (trailed or not), take-profit, max holding time, /close, /flatten,
// reconciliation. The position_closed alert names it too.
import { describe, expect, it } from 'vitest';
import { rig, SYM, type RigOptions } from '../helpers/engine-rig.ts';
import type { ExitReason } from '../../src/core/types.ts';

const flat = (r: ReturnType<typeof rig>, n: number, p = 100) => {
  for (let i = 0; i < n; i++) r.candle(p, p, p, p);
};
const lastReason = (r: ReturnType<typeof rig>): ExitReason | null | undefined => r.journal.closedPositions({ limit: 1 })[0]?.exitReason;

function entered(script: Parameters<typeof rig>[0], limits: RigOptions['limits'] = {}) {
  const r = rig(script, { limits: { maxConsecutiveLosses: 0, ...limits } });
  flat(r, 2); // entered at candle 0, filled at candle 1's open
  expect(r.engine.portfolio.positions.get(SYM)).toBeDefined();
  return r;
}

describe('exit reasons', () => {
  it('the strategy exit signal', () => {
    const r = entered({ 0: 'enter_long', 2: 'exit_long' });
    flat(r, 2);
    expect(lastReason(r)).toBe('signal');
    const closed = r.alerts.alerts.find((a) => a.type === 'position_closed');
    expect(closed?.message).toMatch(/, trade T1 \(signal\)$/);
  });

  it('a stop-loss, and one the trail had moved', () => {
    const fixed = entered({ 0: 'enter_long' }, { stopLossPct: 0.02 });
    fixed.candle(100, 100, 97, 97);
    expect(lastReason(fixed)).toBe('stop_loss');

    const trailed = entered({ 0: 'enter_long' }, { stopLossPct: 0.05, trailingStopPct: 0.02, trailingActivationPct: 0 });
    trailed.candle(100, 110, 100, 110); // the trail lifts the stop to 107.8
    trailed.candle(110, 110, 106, 106);
    expect(lastReason(trailed)).toBe('trailing_stop');
    expect(trailed.journal.closedPositions({ limit: 1 })[0]!.exitPrice).toBeGreaterThan(100);
  });

  it('a trade closed in parts records the average of its exits as its exit price', () => {
    const r = entered({ 0: 'enter_long', 4: 'exit_long' });
    const q = r.engine.portfolio.positions.get(SYM)!.qty;
    const quarter = Math.floor((q / 4) * 1e4) / 1e4; // (the rig's step: 0.0001)
    r.engine.closePosition(SYM, 'ada', 'manual', undefined, quarter);
    r.candle(110, 110, 110, 110); // the quarter fills at 110
    flat(r, 3, 99); // the exit signal; the rest fills at 99
    const t = r.journal.closedPositions({ limit: 1 })[0]!;
    expect(t.exitReason).toBe('signal');
    expect(t.exitPrice).toBeCloseTo((quarter * 110 + (q - quarter) * 99) / q, 6);
    // (exit − entry) × quantity is the trade's gross PnL, as /trades shows them side by side.
    expect((t.exitPrice! - t.entryPrice) * t.maxQty).toBeCloseTo(t.realizedPnl, 4);
    const closed = r.alerts.alerts.filter((a) => a.type === 'position_closed').at(-1)!;
    expect(closed.message).toMatch(/^exit 99(\.0+)? \(101\.75(0*) on average over its exits\), entry/);
  });

  it('a take-profit; the max holding time', () => {
    // Spot with a stop-loss: the bot watches the take-profit (the stop holds the coins) and closes at market.
    const tp = entered({ 0: 'enter_long' }, { takeProfitPct: 0.02 });
    tp.candle(100, 103, 100, 102);
    flat(tp, 1, 102.5);
    expect(lastReason(tp)).toBe('take_profit');
    expect(tp.journal.closedPositions({ limit: 1 })[0]!.exitPrice).toBeCloseTo(102.5, 6);
    // Perps: a take-profit order rests at the venue beside the stop and fills at its price.
    const perp = rig({ 0: 'enter_long' }, { marketType: 'perp', limits: { maxConsecutiveLosses: 0, takeProfitPct: 0.02 } });
    flat(perp, 2);
    perp.candle(100, 103, 100, 102);
    expect(lastReason(perp)).toBe('take_profit');
    expect(perp.journal.closedPositions({ limit: 1 })[0]!.exitPrice).toBeCloseTo(102, 6);

    const old = entered({ 0: 'enter_long' }, { maxHoldMinutes: 3 });
    flat(old, 5);
    expect(lastReason(old)).toBe('max_hold');
  });

  it('/close, /flatten and a reconciliation that adopts the venue position', () => {
    const manual = entered({ 0: 'enter_long' });
    manual.engine.closePosition(SYM, 'ada');
    flat(manual, 1);
    expect(lastReason(manual)).toBe('manual');

    const flattened = entered({ 0: 'enter_long' });
    flattened.engine.flatten('ada');
    flat(flattened, 1);
    expect(lastReason(flattened)).toBe('flatten');

    const adopted = entered({ 0: 'enter_long' });
    adopted.engine.adoptPosition(SYM, null);
    expect(lastReason(adopted)).toBe('reconciliation');
  });
});
