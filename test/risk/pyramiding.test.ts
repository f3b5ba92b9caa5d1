// Pyramiding (risk.pyramiding) and scale-outs (an exit signal's fraction), on the paper venue.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { Order } from '../../src/core/types.ts';
import { tradeAdds } from '../../src/engine/trade-adds.ts';
import { Journal } from '../../src/journal/journal.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS, type RiskContext, type RiskLimits } from '../../src/risk/types.ts';
import { rig, SYM, type Rig } from '../helpers/engine-rig.ts';

const PYR: Partial<RiskLimits> = {
  stopLossPct: 0.05,
  maxCapitalInUse: 1,
  pyramidMaxAdds: 2,
  pyramidMinStepPct: 0.01,
  pyramidSizeFactor: 0.5,
};
const stops = (r: Rig): Order[] => [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
const flat = (r: Rig, px: number): void => void r.candle(px, px, px, px);
const lastDecision = (r: Rig) => r.journal.recentDecisions(1)[0]!;

describe('pyramiding: the whole position stays within the per-trade loss', () => {
  const ctx = (over: Partial<RiskContext> = {}): RiskContext => ({
    now: 0,
    equity: 20_000,
    freeCash: 20_000,
    capitalInUse: 0,
    openPositions: 1,
    marketType: 'spot',
    position: { side: 'long', qty: 100, entryPrice: 100, stopLoss: 98, adds: { adds: 0, lastPrice: 100, lastQty: 100 } },
    price: 101,
    qtyStep: 0.001,
    minQty: 0.001,
    minNotional: 1,
    takerFee: 0,
    ...over,
  });
  const risk = (lim: Partial<RiskLimits>) =>
    new RiskEngine({ ...DEFAULT_LIMITS, riskPerTrade: 0.01, minTradeIntervalSec: 0, maxCapitalInUse: 1, pyramidMaxAdds: 2, ...lim });
  const add = (strategy: string, qty?: number) => ({
    signal: { symbol: SYM, action: 'enter_long' as const, ts: 0, price: 101, strategy, reason: 't', stopLoss: 101 * 0.98 },
    request: {
      symbol: SYM,
      side: 'buy' as const,
      type: 'market' as const,
      tif: 'GTC' as const,
      reduceOnly: false,
      ...(qty ? { qty } : {}),
    },
    reducing: false,
  });

  it('with numbers: 100 @ 100 stopped at 98 (loss 200 = riskPerTrade 1% of 20,000), add 100 @ 101 → stop 99.5 (loss still 200)', () => {
    const d = risk({ pyramidSizeFactor: 1, pyramidMinStepPct: 0.01 }).evaluate(add('scripted'), ctx());
    expect(d.action).toBe('accept');
    expect(d.qty).toBe(100); // the entry (100) × sizeFactor 1
    // The add's own stop (98.98) would lose 100 × 1.02 + 100 × 2.02 = 304: the whole position's stop rises
    // to where it loses exactly 1%: (100 × 100 + 100 × 101 − 200) / 200 = 99.5.
    expect(d.stopLoss).toBeCloseTo(99.5, 9);
    expect(100 * (100 - d.stopLoss!) + 100 * (101 - d.stopLoss!)).toBeCloseTo(200, 6);
    expect(d.reason).toContain('stop for the whole position 99.5, loss there 1% of equity (limit 1%)');
  });

  it('with fees the loss at the new stop (both fees included) is at most riskPerTrade, and sizeFactor halves the add', () => {
    const d = risk({ pyramidSizeFactor: 0.5 }).evaluate(add('scripted'), ctx({ takerFee: 0.001 }));
    expect(d.qty).toBe(50);
    const s = d.stopLoss!;
    const loss = 100 * (100 - s) + 50 * (101 - s) + 0.001 * (50 * 101 + 150 * s);
    expect(loss).toBeLessThanOrEqual(200 + 1e-6);
    expect(s).toBeGreaterThanOrEqual(101 * 0.98); // never looser than the add's own stop
  });

  it('an add too big for the budget is made smaller so the stop stays ≥ 0.1% from the price (perp, 20×)', () => {
    // 100 @ 101 stopped at 99 already loses the whole budget (200); at a stop 0.1% below 101 (100.899)
    // it loses 10.1, which leaves 189.9 for the add at 0.101 a unit: 1880.19.
    const c = ctx({ marketType: 'perp', position: { side: 'long', qty: 100, entryPrice: 101, stopLoss: 99 } });
    const intent = add('manual', 3000);
    intent.request = { ...intent.request, leverage: 20 } as typeof intent.request;
    const d = risk({ pyramidMaxAdds: 0, maxLeverage: 20 }).evaluate(intent, c);
    expect(d).toMatchObject({ action: 'resize', rule: 'max_loss_per_trade', qty: 1880.198 });
    expect(d.stopLoss!).toBeCloseTo(100.899, 3);
    expect(100 * (101 - d.stopLoss!) + d.qty! * (101 - d.stopLoss!)).toBeLessThanOrEqual(200 + 1e-6);
  });

  it('refuses: step not reached, adds used up; with pyramiding off a manual add is the trader’s call', () => {
    const near = risk({}).evaluate(add('scripted'), ctx({ price: 100.5 }));
    expect(near).toMatchObject({ action: 'reject', rule: 'pyramiding' });
    expect(near.reason).toContain('an add needs 1%');
    const used = ctx();
    used.position!.adds = { adds: 2, lastPrice: 99, lastQty: 10 };
    expect(risk({}).evaluate(add('scripted'), used)).toMatchObject({ action: 'reject', rule: 'pyramiding' });
    expect(risk({ pyramidMaxAdds: 0 }).evaluate(add('manual', 1), ctx()).action).toBe('accept');
  });

  it('config: risk.pyramiding { maxAdds, minStepPct, sizeFactor } is the limit table’s pyramid* keys; off by default', () => {
    expect(parseConfig({}).risk.pyramidMaxAdds).toBe(0);
    const c = parseConfig({ risk: { pyramiding: { maxAdds: 3, minStepPct: '1.5%', sizeFactor: 0.5 } } }).risk;
    expect([c.pyramidMaxAdds, c.pyramidMinStepPct, c.pyramidSizeFactor]).toEqual([3, 0.015, 0.5]);
    expect(() => parseConfig({ risk: { pyramiding: { maxAdds: 50 } } })).toThrow(/pyramid/);
    expect(() => parseConfig({ risk: { pyramiding: { every: 1 } } })).toThrow(/pyramiding/);
  });
});

describe('pyramiding on the paper venue', () => {
  it('repeat entry signals add (step, factor, maxAdds), the stop covers the whole position, adds survive a restart', () => {
    const script = { 0: 'enter_long', 2: 'enter_long', 3: 'enter_long', 5: 'enter_long', 6: 'enter_long', 8: 'enter_long' } as const;
    const r = rig(script, { limits: PYR, store: true });
    flat(r, 100); // 0: entry
    flat(r, 100); // 1: filled at 100
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const q0 = pos.qty;
    expect(q0).toBeGreaterThan(0);
    flat(r, 100.5); // 2: only 0.5% up
    expect(lastDecision(r)).toMatchObject({ verdict: 'reject', verdictRule: 'pyramiding' });
    flat(r, 102); // 3: +2%: add half the entry
    flat(r, 102); // 4: filled
    expect(pos.qty).toBeCloseTo(q0 * 1.5, 3);
    const check = () => {
      const [stop] = stops(r);
      expect(stop!.qty).toBeCloseTo(pos.qty, 9);
      expect(stop!.stopPrice).toBe(pos.stopLoss);
      const loss = pos.qty * (pos.entryPrice - pos.stopLoss!);
      expect(loss).toBeLessThanOrEqual(0.02 * r.engine.portfolio.equity() + 1e-6);
    };
    check();
    expect(pos.stopLoss).toBeGreaterThan(95); // raised from the entry's 95 for the whole position
    flat(r, 103); // 5: 0.98% since the add at 102
    expect(lastDecision(r)).toMatchObject({ verdict: 'reject', verdictRule: 'pyramiding' });
    flat(r, 103.5); // 6: add 2: half of add 1
    flat(r, 103.5); // 7: filled
    expect(pos.qty).toBeCloseTo(q0 * 1.75, 3);
    check();
    flat(r, 105); // 8: maxAdds reached
    expect(lastDecision(r)).toMatchObject({ verdict: 'reject', verdictRule: 'pyramiding' });
    expect(lastDecision(r).verdictReason).toContain('already has 2 adds (limit 2)');
    expect(tradeAdds(r.journal, pos)).toMatchObject({ adds: 2, lastPrice: 103.5 });

    // Restart on the same journal: the count is the journal's.
    const again = rig({}, { limits: PYR, journal: r.journal, store: true });
    flat(again, 105); // (seen before the restart: warms up, sets the last price)
    const p2 = again.engine.portfolio.positions.get(SYM)!;
    expect(tradeAdds(again.journal, p2).adds).toBe(2);
    const d = again.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada', { dryRun: true }).decision;
    expect(d).toMatchObject({ action: 'reject', rule: 'pyramiding' });
  });

  it('a backtest journal (fills only, no positions journaled) still counts the adds: maxAdds holds', () => {
    const script = { 0: 'enter_long', 2: 'enter_long', 4: 'enter_long', 6: 'enter_long' } as const;
    const r = rig(script, { limits: PYR, journal: Journal.memory('fills') });
    flat(r, 100); // 0: entry
    flat(r, 100); // 1: filled
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const q0 = pos.qty;
    for (const px of [102, 102, 104, 104]) flat(r, px); // 2, 4: adds of ½ and ¼ the entry
    expect(pos.qty).toBeCloseTo(q0 * 1.75, 3);
    flat(r, 106); // 6: a third add: refused (limit 2)
    flat(r, 106);
    expect(pos.qty).toBeCloseTo(q0 * 1.75, 3);
  });

  it('pyramiding off (the default): a repeat entry signal does nothing', () => {
    const r = rig({ 0: 'enter_long', 3: 'enter_long' }, { limits: { ...PYR, pyramidMaxAdds: 0 } });
    flat(r, 100);
    flat(r, 100);
    const q0 = r.engine.portfolio.positions.get(SYM)!.qty;
    const before = r.journal.recentDecisions(10).length;
    flat(r, 102);
    flat(r, 103);
    flat(r, 103);
    expect(r.engine.portfolio.positions.get(SYM)!.qty).toBe(q0);
    expect(r.journal.recentDecisions(10).length).toBe(before);
  });
});

describe('scale-outs: an exit signal with a fraction', () => {
  it('closes that share; the rest keeps a stop sized to it', () => {
    const r = rig({ 0: 'enter_long', 2: 'exit_long' }, { limits: { stopLossPct: 0.02 }, extra: { fraction: 0.5 } });
    flat(r, 100);
    flat(r, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const q = pos.qty;
    flat(r, 101); // exit half
    expect(stops(r)).toEqual([expect.objectContaining({ qty: q - Math.floor((q * 0.5) / 0.0001) * 0.0001, stopPrice: 98 })]);
    flat(r, 101);
    expect(pos.qty).toBeCloseTo(q / 2, 3);
    expect(stops(r)).toEqual([expect.objectContaining({ qty: pos.qty, stopPrice: 98, status: 'open' })]);
    expect(r.engine.status().unprotected).toEqual([]);
  });

  it('a bad fraction (0, 1.5, NaN) is refused with a reason and closes nothing', () => {
    for (const fraction of [0, 1.5, Number.NaN]) {
      const r = rig({ 0: 'enter_long', 2: 'exit_long' }, { limits: { stopLossPct: 0.02 }, extra: { fraction } });
      flat(r, 100);
      flat(r, 100);
      const q = r.engine.portfolio.positions.get(SYM)!.qty;
      flat(r, 101);
      flat(r, 101);
      expect(r.engine.portfolio.positions.get(SYM)!.qty).toBe(q);
      expect(lastDecision(r)).toMatchObject({ verdict: 'reject', verdictRule: 'bad_input' });
      expect(lastDecision(r).verdictReason).toContain("exit's fraction must be above 0 and at most 1");
    }
  });
});

describe('after a restart', () => {
  it('a restored position is marked at the last candle seen before the restart, not at its entry', () => {
    const r = rig({ 0: 'enter_long' }, { store: true });
    flat(r, 100);
    flat(r, 100);
    flat(r, 104);
    const again = rig({}, { journal: r.journal, store: true });
    flat(again, 100);
    flat(again, 100);
    flat(again, 104); // the candles before the restart warm the strategy up, and mark the position
    const pos = again.engine.portfolio.positions.get(SYM)!;
    expect(pos.markPrice).toBe(104);
    expect(pos.unrealizedPnl).toBeCloseTo(pos.qty * (104 - pos.entryPrice), 6);
  });
});
