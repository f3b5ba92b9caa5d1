// Impossible prices (issue 7 item 5): zero, 1e-300, 1e300 and a ×1000 spike are never traded on, in
// the paper venue, the engine and the backtest.
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../src/core/types.ts';
import { runBacktest, REFERENCE_LIMITS } from '../../src/app/backtest.ts';
import { generateCandles } from '../../src/market/generator.ts';
import { rig as engineRig } from '../helpers/engine-rig.ts';
import { rig as venueRig } from '../helpers/paper-fixtures.ts';

describe('paper venue: never a fill at an impossible price', () => {
  it.each([
    ['zero', 0],
    ['NaN', NaN],
    ['1e300', 1e300],
    ['Infinity', Infinity],
  ])('a %s candle fed straight to the venue fills nothing; the order waits for a real price', (_n, p) => {
    const r = venueRig();
    r.candle(100, 101, 99, 100);
    const buy = r.place({ side: 'buy', qty: 1 });
    r.candle(100, 101, 99, 100);
    expect(r.fills()).toHaveLength(1);
    const sell = r.place({ side: 'sell', qty: 1 });
    r.candle(p, p, Number.isFinite(p) ? p : 0, p);
    expect(r.fills()).toHaveLength(1);
    expect(r.last(sell.clientOrderId)?.status).toBe('open');
    r.candle(101, 102, 100, 101);
    expect(r.fills().map((f) => f.price)).toEqual([100, 101]);
    expect(r.last(buy.clientOrderId)?.status).toBe('filled');
  });
});

describe('engine: a jump is held (no trade, alert) until the next candle confirms it', () => {
  it('a ×1000 spike reaches neither the strategy nor the venue; the alert says it is held', () => {
    const r = engineRig({ 25: 'enter_long' }, { limits: { stopLossPct: null, sizing: 'all-in' } });
    for (let i = 0; i < 26; i++) r.candle(100, 100.1, 99.9, 100 + (i % 2) * 0.05);
    expect(r.engine.portfolio.positions.size).toBe(0); // the entry fills at the next open
    const spike = r.candle(100_000, 100_000, 100_000, 100_000);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.strategy.seen).toHaveLength(26);
    const alert = r.alerts.alerts.find((a) => a.title.includes('jump'))!;
    expect(alert).toMatchObject({ type: 'bad_candle', severity: 'warning' });
    expect(alert.message).toContain('held until the next candle confirms it');
    expect(r.journal.dataEvents(5).map((e) => e.kind)).toContain('jump');
    // Back to normal: the entry fills at this open, not at the spike.
    r.candle(100, 100.1, 99.9, 100);
    const fills = r.journal.fills();
    expect(fills).toHaveLength(1);
    expect(fills[0]!.price).toBe(100);
    expect(fills[0]!.ts).toBeGreaterThan(spike.ts);
  });
});

describe('backtest: impossible candles are skipped, never filled at', () => {
  it('zero, 1e-300, 1e300 and ×1000 candles among 3000: every fill is at a real price', () => {
    const candles = generateCandles({ count: 3000, seed: 21, volatility: 0.002 });
    const bad = (at: number, p: number): void => {
      const c = candles[at]!;
      candles[at] = { ...c, open: p, high: p, low: p, close: p } satisfies Candle;
    };
    for (let i = 300; i < 2700; i += 300) bad(i, 0);
    bad(350, 1e-300);
    bad(650, 1e300);
    bad(950, candles[949]!.close * 1000);
    const r = runBacktest({
      candles,
      symbol: 'BTC/USDT',
      timeframe: '1m',
      strategy: 'sma-cross',
      params: { fast: 1, slow: 2 },
      cash: 10_000,
      fee: 0.001,
      qtyStep: 1e-8,
      limits: REFERENCE_LIMITS,
    });
    const good = candles.filter((_, i) => i % 300 !== 0 && ![350, 650, 950].includes(i));
    const lo = Math.min(...good.map((c) => c.low));
    const hi = Math.max(...good.map((c) => c.high));
    expect(r.fills).toBeGreaterThan(100);
    for (const f of r.fillRows) {
      expect(f.price).toBeGreaterThanOrEqual(lo);
      expect(f.price).toBeLessThanOrEqual(hi);
    }
    expect(r.rejected_bars).toBe(11);
    expect(Number.isFinite(r.final_equity) && r.final_equity > 0).toBe(true);
  });
});
