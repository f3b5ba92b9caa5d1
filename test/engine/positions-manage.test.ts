// Trade ids, partial closes, stop / take-profit / trail edits, trailing stops, max holding time and
// the total drawdown kill switch, on the paper venue (engine rig).
import { describe, expect, it } from 'vitest';
import type { Order } from '../../src/core/types.ts';
import { parseLevel, parseTrail } from '../../src/engine/trade-edits.ts';
import { findTrade, parseTradeId, setTradeSettings, tradeId, tradeSettings } from '../../src/engine/trades.ts';
import { KILL_SWITCH } from '../../src/engine/drawdown-guard.ts';
import { Journal } from '../../src/journal/journal.ts';
import { rig, SYM } from '../helpers/engine-rig.ts';

const stops = (orders: Iterable<Order>): Order[] => [...orders].filter((o) => o.purpose === 'stop_loss');
const show = (x: number): string => x.toFixed(2);

describe('trade ids', () => {
  it('a position is a trade with a stable id that survives a restart; ids and symbols both find it', () => {
    const journal = Journal.memory();
    const r = rig({ 0: 'enter_long' }, { journal, limits: { sizing: 'fixed', fixedQuote: 1000 } });
    r.candle(100, 101, 99, 100);
    r.candle(100, 101, 99, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const id = tradeId(pos);
    expect(id).toMatch(/^T\d+$/);
    expect(r.alerts.alerts.find((a) => a.type === 'position_opened')!.message).toContain(`trade ${id}`);
    // Restart on the same journal: the same id.
    const again = rig({}, { journal, limits: { sizing: 'fixed', fixedQuote: 1000 } });
    expect(tradeId(again.engine.portfolio.positions.get(SYM)!)).toBe(id);
    const resolve = (s: string) => (s.toUpperCase() === 'BTC' || s === SYM ? SYM : null);
    expect(findTrade(again.engine.portfolio.positions, id.toLowerCase(), resolve)).toEqual({
      pos: again.engine.portfolio.positions.get(SYM),
    });
    expect(findTrade(again.engine.portfolio.positions, 'btc', resolve)).toHaveProperty('pos');
    expect(findTrade(again.engine.portfolio.positions, 'T999', resolve)).toEqual({ error: expect.stringMatching(/^No open trade T999/) });
    expect(parseTradeId('#7')).toBe(7);
    expect(parseTradeId('BTC')).toBeNull();
  });
});

describe('partial close', () => {
  it('/close 25%: sells a quarter, books a quarter of the fees, and resizes the stop to what is left', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000 } });
    r.candle(100, 101, 99, 100);
    r.candle(100, 101, 99, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const full = pos.qty;
    const openFees = pos.fees;
    expect(stops(r.engine.liveOrders.values()).map((o) => o.qty)).toEqual([full]);
    const part = Math.floor((full / 4) * 1e4) / 1e4;
    const order = r.engine.closePosition(SYM, 'ada', 'manual', undefined, part)!;
    expect(order.qty).toBeCloseTo(part, 10);
    r.candle(102, 103, 101, 102);
    const after = r.engine.portfolio.positions.get(SYM)!;
    expect(after.id).toBe(pos.id);
    expect(after.qty).toBeCloseTo(full - part, 10);
    const sold = r.journal.getOrder(order.clientOrderId)!;
    expect(sold.status).toBe('filled');
    expect(sold.fee).toBeCloseTo(part * sold.avgPrice * 0.001, 8);
    expect(after.fees).toBeCloseTo(openFees + sold.fee, 8);
    const live = stops(r.engine.liveOrders.values());
    expect(live).toHaveLength(1);
    expect(live[0]!.qty).toBeCloseTo(full - part, 10);
    expect(r.engine.status().unprotected).toEqual([]);
  });
});

describe('stop / take-profit edits', () => {
  it('validates against the side and the last price; a refusal changes nothing', () => {
    expect(parseLevel('stop_loss', '-2%', 'long', 100, show)).toEqual({ ok: true, value: 98 });
    expect(parseLevel('stop_loss', '2%', 'long', 100, show)).toEqual({ ok: true, value: 98 });
    expect(parseLevel('take_profit', '+5%', 'long', 100, show)).toEqual({ ok: true, value: 105 });
    expect(parseLevel('stop_loss', '2%', 'short', 100, show)).toEqual({ ok: true, value: 102 });
    expect(parseLevel('stop_loss', '95', 'long', 100, show)).toEqual({ ok: true, value: 95 });
    const refused = (k: 'stop_loss' | 'take_profit', raw: string, side: 'long' | 'short' = 'long') => {
      const v = parseLevel(k, raw, side, 100, show);
      expect(v.ok, raw).toBe(false);
      return v.ok ? '' : v.error;
    };
    expect(refused('stop_loss', '101')).toMatch(/stop-loss for a long must be below the last price 100\.00 \(got 101\.00\)/);
    expect(refused('stop_loss', '+2%')).toMatch(/must be below/);
    expect(refused('take_profit', '99')).toMatch(/take-profit for a long must be above/);
    expect(refused('stop_loss', '99', 'short')).toMatch(/stop-loss for a short must be above/);
    expect(refused('stop_loss', '0%')).toMatch(/above 0% and below 100%/);
    expect(refused('stop_loss', '150%')).toMatch(/above 0% and below 100%/);
    expect(refused('stop_loss', '-5')).toMatch(/above 0/);
    expect(refused('stop_loss', 'abc')).toMatch(/neither a price/);
    expect(parseLevel('stop_loss', '95', 'long', NaN, show)).toMatchObject({ ok: false, error: expect.stringMatching(/no price yet/) });
    expect(parseTrail('1.5%')).toEqual({ ok: true, value: 0.015 });
    expect(parseTrail('off')).toEqual({ ok: true, value: null });
    expect(parseTrail('0%').ok).toBe(false);
    expect(parseTrail('150%').ok).toBe(false);
  });

  it('moving the stop journals the new order and places it; the old one goes; exactly one stop remains', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000 } });
    r.candle(100, 101, 99, 100);
    r.candle(100, 101, 99, 100);
    const [old] = stops(r.engine.liveOrders.values());
    r.engine.setProtection(SYM, { stopLoss: 99.5 });
    const live = stops(r.engine.liveOrders.values());
    expect(live).toHaveLength(1);
    expect(live[0]!.stopPrice).toBe(99.5);
    expect(live[0]!.clientOrderId).not.toBe(old!.clientOrderId);
    expect(r.journal.getOrder(old!.clientOrderId)!.status).toBe('cancelled');
    expect(r.engine.portfolio.positions.get(SYM)!.stopLoss).toBe(99.5);
    // The journal has the new stop (position row and order) for a restart.
    expect(r.journal.openPositions()[0]!.stopLoss).toBe(99.5);
    r.candle(100, 100, 99.4, 99.6);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.journal.getOrder(live[0]!.clientOrderId)!.status).toBe('filled');
  });
});

describe('trailing stop (paper: moves on the candle close from its high, protects from the next candle)', () => {
  it('ratchets up with the highs, never down, and fills on the candle that falls through it', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000, trailingStopPct: 0.01, stopLossPct: 0.05 } });
    r.candle(100, 100.5, 99.5, 100);
    r.candle(100, 100.5, 99.5, 100); // entry fills at ~100
    const stopAt = () => r.engine.portfolio.positions.get(SYM)?.stopLoss;
    expect(stopAt()).toBeCloseTo(95, 8); // the entry's stop is not acknowledged yet: the trail waits a candle
    r.candle(100, 110, 100, 109);
    expect(stopAt()).toBeCloseTo(110 * 0.99, 8);
    // Extends to 111 and falls to 108.5 in one candle: the stop is still 108.9 (from the last close), so it fills there.
    r.candle(109, 111, 108.5, 109.5);
    expect(r.engine.portfolio.positions.size).toBe(0);
    const hit = r.alerts.alerts.find((a) => a.type === 'stop_hit');
    expect(hit?.title).toBe('Trailing stop hit on BTC/USDT'); // not "Stop-loss hit" for an exit in profit
    expect(hit?.message).toMatch(/closed long at 108\.9/);
    expect(r.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
  });

  it('per trade: /trail overrides the config and "off" stops the trail', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000, stopLossPct: 0.05 } });
    r.candle(100, 100.5, 99.5, 100);
    r.candle(100, 100.5, 99.5, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const start = pos.stopLoss!;
    r.candle(100, 104, 100, 103);
    expect(pos.stopLoss).toBe(start); // no trail configured
    setTradeSettings(r.journal, pos.id, { trailingStopPct: 0.02 }, 0);
    r.candle(103, 105, 103, 104);
    expect(pos.stopLoss).toBeCloseTo(105 * 0.98, 8);
    setTradeSettings(r.journal, pos.id, { trailingStopPct: null }, 0);
    expect(tradeSettings(r.journal, pos.id)).toEqual({ trailingStopPct: null, trailed: true }); // the trail had moved its stop
    r.candle(104, 108, 104, 107);
    expect(pos.stopLoss).toBeCloseTo(105 * 0.98, 8);
  });

  it('waits for the activation offset', () => {
    const r = rig(
      { 0: 'enter_long' },
      { limits: { sizing: 'fixed', fixedQuote: 1000, stopLossPct: 0.05, trailingStopPct: 0.01, trailingActivationPct: 0.03 } },
    );
    r.candle(100, 100.5, 99.5, 100);
    r.candle(100, 100.5, 99.5, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const start = pos.stopLoss!;
    r.candle(100, 102, 100, 101.5);
    expect(pos.stopLoss).toBe(start);
    r.candle(101.5, 104, 101, 103.5);
    expect(pos.stopLoss).toBeCloseTo(104 * 0.99, 8);
  });
});

describe('max holding time', () => {
  it('closes at market on the engine clock once reached, with the reason in the journal and the alert', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000, maxHoldMinutes: 3 } });
    r.candle(100, 101, 99, 100);
    r.candle(100, 101, 99, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    r.candle(100, 101, 99, 100);
    expect(r.engine.portfolio.positions.size).toBe(1);
    r.candle(100, 101, 99, 100); // 3 min after the fill: the exit goes out
    const alert = r.alerts.alerts.find((a) => a.title.startsWith('Max holding time'));
    expect(alert?.title).toBe(`Max holding time: closing long ${SYM} ${tradeId(pos)}`);
    expect(alert?.message).toMatch(/^max holding time 3 min reached/);
    r.candle(100, 101, 99, 100);
    expect(r.engine.portfolio.positions.size).toBe(0);
    const reasons = r.journal.sqlite.prepare('select reason from decisions').all() as Array<{ reason: string }>;
    expect(reasons.some((d) => /max holding time 3 min reached/.test(d.reason))).toBe(true);
  });
});

describe('trailing stop beside a resting exit', () => {
  for (const marketType of ['spot', 'perp'] as const)
    it(`${marketType}: ${marketType === 'perp' ? 'goes on (the stop stays at the venue)' : 'waits while the exit holds the coins'}`, () => {
      const r = rig(
        { 0: 'enter_long' },
        { marketType, limits: { sizing: 'fixed', fixedQuote: 1000, trailingStopPct: 0.01, stopLossPct: 0.05 } },
      );
      r.candle(100, 100.5, 99.5, 100);
      r.candle(100, 100.5, 99.5, 100); // entry fills at ~100
      r.candle(100, 100.5, 99.5, 100); // its stop acknowledged
      const pos = r.engine.portfolio.positions.get(SYM)!;
      const { order: limit } = r.engine.manualOrder({ symbol: SYM, side: 'sell', qty: pos.qty / 2, price: 130 }, 'ada');
      r.candle(100, 100.5, 99.5, 100);
      expect(limit!.status).toBe('open');
      const before = pos.stopLoss!;
      r.candle(100, 110, 100, 109);
      r.candle(109, 109.5, 109, 109.2);
      if (marketType === 'perp') {
        expect(pos.stopLoss).toBeCloseTo(110 * 0.99, 8);
        expect(stops(r.engine.liveOrders.values())).toEqual([
          expect.objectContaining({ stopPrice: expect.closeTo(108.9, 8), qty: pos.qty, status: 'open' }),
        ]);
      } else expect(pos.stopLoss).toBe(before);
      expect(limit!.status).toBe('open');
    });
});

describe('max holding time with a resting exit', () => {
  it("is not deferred by a trader's limit sell: the close at market replaces it", () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000, maxHoldMinutes: 3 } });
    r.candle(100, 101, 99, 100);
    r.candle(100, 101, 99, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const { order: limit } = r.engine.manualOrder({ symbol: SYM, side: 'sell', qty: pos.qty / 2, price: 110 }, 'ada');
    for (let i = 0; i < 3; i++) r.candle(100, 101, 99, 100);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.journal.getOrder(limit!.clientOrderId)!.status).toBe('cancelled');
    expect(r.alerts.alerts.find((a) => a.title.startsWith('Max holding time'))?.message).toMatch(
      new RegExp(`: closing at market with sk-\\w+ \\(${limit!.clientOrderId} cancelled first\\)\\.$`),
    );
  });
});

describe('total drawdown kill switch', () => {
  const limits = { sizing: 'fixed' as const, fixedQuote: 5000, stopLossPct: null, maxDrawdown: 0.05, maxDailyDrawdown: 0 };

  it('halt: trips the breaker from the equity peak with a critical alert; positions stay', () => {
    const r = rig({ 0: 'enter_long' }, { limits });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100);
    r.candle(100, 104, 100, 104); // new peak
    r.candle(104, 104, 92, 92); // ~ -6% from the peak
    const rs = r.engine.risk.state();
    expect(rs.breakerTripped).toBe(true);
    expect(rs.breakerReason).toMatch(new RegExp(`^${KILL_SWITCH}`));
    const alert = r.alerts.alerts.find((a) => a.title.startsWith('KILL SWITCH'));
    expect(alert?.severity).toBe('critical');
    expect(r.engine.portfolio.positions.size).toBe(1);
  });

  it('flatten: also closes every position; a re-arm measures from the current equity', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { ...limits, onMaxDrawdown: 'flatten' } });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 88, 88);
    expect(r.engine.risk.state().breakerTripped).toBe(true);
    r.candle(88, 88, 88, 88);
    expect(r.engine.portfolio.positions.size).toBe(0);
    r.engine.resume('admin', { clearBreaker: true });
    r.candle(88, 88, 88, 88);
    expect(r.engine.risk.state().breakerTripped).toBe(false);
  });
});

describe('trailing stop never crosses the last price', () => {
  it('a candle that closes below its own trail leaves the stop where it was (a venue would refuse the order)', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { sizing: 'fixed', fixedQuote: 1000, trailingStopPct: 0.01, stopLossPct: 0.05 } });
    r.candle(100, 100.5, 99.5, 100);
    r.candle(100, 100, 100, 100);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    const before = pos.stopLoss;
    r.candle(100, 110, 100, 108); // trail 108.9 is above the close 108
    expect(pos.stopLoss).toBe(before);
    expect(r.alerts.alerts.filter((a) => a.severity === 'critical').map((a) => a.message)).toEqual([]);
  });
});

describe('volatility sizing', () => {
  const limits = { sizing: 'volatility' as const, volatilityWindow: 4, volatilityMultiple: 20, riskPerTrade: 0.01, stopLossPct: 0.2 };

  it('sizes the risk budget over volatilityMultiple typical moves; refuses until the window is full', () => {
    const r = rig({ 1: 'enter_long', 6: 'enter_long' }, { limits });
    const closes = [100, 101, 100, 101, 100, 101, 100];
    let order: Order | undefined;
    let vol: number | null = null;
    closes.forEach((c, i) => {
      r.candle(c, c, c, c);
      if (i === 6) {
        vol = r.engine.risk.volatility(SYM);
        order = [...r.engine.liveOrders.values()].find((o) => o.purpose === 'entry');
      }
    });
    const reasons = r.journal.sqlite.prepare('select verdict_rule as rule, reason from decisions').all() as Array<{
      rule: string;
      reason: string;
    }>;
    expect(reasons[0]).toMatchObject({ rule: 'no_volatility' });
    expect(vol).not.toBeNull();
    const want = (r.engine.portfolio.equity() * 0.01) / (100 * vol! * 20);
    expect(order?.qty).toBeCloseTo(Math.floor(want * 1e4) / 1e4, 4);
  });

  it('never above what the stop allows: the max-loss rule still caps it', () => {
    const r = rig({ 6: 'enter_long' }, { limits: { ...limits, volatilityMultiple: 0.1, stopLossPct: 0.05, maxCapitalInUse: 1 } });
    [100, 101, 100, 101, 100, 101, 100].forEach((c) => r.candle(c, c, c, c));
    const d = r.journal.sqlite.prepare('select verdict_rule as rule from decisions').all() as Array<{ rule: string }>;
    expect(d.map((x) => x.rule)).toContain('max_loss_per_trade');
  });
});
