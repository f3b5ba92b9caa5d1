import { describe, expect, it } from 'vitest';
import { rig } from '../helpers/engine-rig.ts';

// Engine alerts read like the chat replies: prices in the market's tick, money with its currency,
// no raw floats, no phrase said twice.
describe('engine alert wording', () => {
  it('fills, stops and closes: prices in the tick, fees and PnL with the currency', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { stopLossPct: 0.02, maxConsecutiveLosses: 1 } });
    r.candle(105879.7531, 105880, 105879, 105879.7531);
    r.candle(105879.7531, 105890.1234, 105870.4321, 105880.12); // the entry fills at this open
    r.candle(105880.12, 105881, 101000.3333, 101500.98765); // through the stop
    const by = (type: string) => r.alerts.alerts.filter((a) => a.type === type);

    const [buy] = by('order_filled');
    expect(buy!.title).toMatch(/^BUY 0\.\d{1,4} BTC\/USDT @ 105,879\.75$/);
    expect(buy!.message).toMatch(/^sk-000001 filled 0\.\d{1,4} @ 105,879\.75, fee \d+\.\d\d USDT$/);
    expect(by('position_opened')[0]!.message).toMatch(/^0\.\d{1,4} @ 105,879\.75, trade T\d+$/);
    expect(by('stop_hit')[0]!.message).toMatch(/^closed long at 103,\d{3}\.\d\d, PnL -[\d,]+\.\d\d USDT$/);
    expect(by('position_closed')[0]!.message).toMatch(
      /^exit 103,\d{3}\.\d\d, entry 105,879\.75, net PnL -[\d,]+\.\d\d USDT, trade T\d+ \(stop-loss\)$/,
    );

    const [breaker] = by('circuit_breaker');
    expect(breaker).toMatchObject({ severity: 'critical', title: 'Circuit breaker tripped' });
    expect(breaker!.message).toMatch(/^1 losing trades in a row \(limit 1\)\. New entries blocked/);
    for (const a of r.alerts.alerts) {
      const text = `${a.title}: ${a.message}`;
      expect(text, text).not.toMatch(/\d\.\d{5,}|\de[+-]?\d|Infinity|NaN/);
      expect(text.toLowerCase(), text).not.toMatch(/(\b\w+ \w+ \w+\b).*\1/); // no three-word phrase twice
    }
  });

  it('a daily drawdown halt and its lifting say each thing once', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { stopLossPct: null, sizing: 'all-in', maxDailyDrawdown: 0.05 } });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100); // all in at 100
    r.candle(100, 100, 90, 90); // -10%: halt
    const halt = r.alerts.alerts.find((a) => a.type === 'risk_halt')!;
    expect(halt.title).toBe('Trading halted');
    expect(halt.message).toMatch(/^daily drawdown halt \(−\d+(\.\d+)?% today, limit 5%\): equity [\d,]+\.\d\d vs 10,000\.00/);
    for (let i = 0; i < 1440; i++) r.candle(90, 90, 90, 90); // into the next UTC day
    const lifted = r.alerts.alerts.find((a) => a.type === 'risk_halt' && a !== halt)!;
    expect(lifted).toMatchObject({
      severity: 'info',
      title: 'Daily drawdown halt lifted',
      message: 'new UTC day 2025-01-02: entries allowed again',
    });
  });
});
