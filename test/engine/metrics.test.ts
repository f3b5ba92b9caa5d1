import { describe, expect, it } from 'vitest';
import { MetricsTracker } from '../../src/engine/metrics.ts';

const DAY = 86_400_000;

describe('metrics', () => {
  it('computes return, drawdown, exposure and trade statistics', () => {
    const m = new MetricsTracker(1000);
    // Day 0: 1000 → 1100 (peak) → 990 (drawdown 10%); day 1 ends at 1050.
    m.onBar(0 * DAY + 60_000, 1000, false);
    m.onBar(0 * DAY + 120_000, 1100, true);
    m.onBar(0 * DAY + 180_000, 990, true);
    m.onBar(1 * DAY + 60_000, 1050, false);
    m.onTradeClosed(60);
    m.onTradeClosed(-20);
    m.onTradeClosed(10);
    m.onFee(3);
    const r = m.result();
    expect(r.final_equity).toBe(1050);
    expect(r.total_return).toBeCloseTo(0.05, 12);
    expect(r.max_drawdown).toBeCloseTo(0.1, 12);
    expect(r.exposure).toBe(0.5);
    expect(r.trades).toBe(3);
    expect(r.win_rate).toBeCloseTo(2 / 3, 12);
    expect(r.profit_factor).toBeCloseTo(70 / 20, 12);
    expect(r.expectancy).toBeCloseTo(50 / 3, 12);
    expect(r.fees).toBe(3);
  });

  it('Sharpe and Sortino come from daily returns (annualized with √365)', () => {
    const m = new MetricsTracker(100);
    const closes = [101, 99, 102, 102, 104];
    closes.forEach((e, d) => m.onBar(d * DAY + 1000, e, true));
    const r = m.result();
    const rets = closes.map((c, i) => c / (i === 0 ? 100 : closes[i - 1]!) - 1);
    const mean = rets.reduce((a, b) => a + b, 0) / rets.length;
    const sd = Math.sqrt(rets.reduce((a, x) => a + (x - mean) ** 2, 0) / (rets.length - 1));
    const dd = Math.sqrt(rets.reduce((a, x) => a + Math.min(0, x) ** 2, 0) / rets.length);
    expect(r.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(365), 10);
    expect(r.sortino).toBeCloseTo((mean / dd) * Math.sqrt(365), 10);
    expect(r.profit_factor).toBeNull();
  });
});
