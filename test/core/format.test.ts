import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assetAmount, counted, duration, money, pct, percent, plain, price, qty, signedMoney, utc } from '../../src/core/format.ts';

const BTC = { base: 'BTC', quote: 'USDT', qtyStep: 0.00001, priceStep: 0.01 };

describe('one formatting module', () => {
  it('money: 2 decimals, separators, the currency; tiny amounts keep their digits', () => {
    expect(money(9798.0815, 'USDT')).toBe('9,798.08 USDT');
    expect(money(-19.0042, 'USDT')).toBe('-19.00 USDT');
    expect(money(0.5313789, 'USDT')).toBe('0.53 USDT');
    expect(money(0.0042137, 'USDT')).toBe('0.0042 USDT');
    expect(money(0, 'USDT')).toBe('0.00 USDT');
    expect(money(-0.0000001, '')).toBe('-0.0000001');
    expect(money(1234567.891, '')).toBe('1,234,567.89');
    expect(signedMoney(12.3, 'USDT')).toBe('+12.30 USDT');
    expect(signedMoney(-201.92, 'USDT')).toBe('-201.92 USDT');
    expect(money(Infinity, 'USDT')).toBe('—');
    // The float noise of a difference is no money: a flat day's PnL reads 0.00, unsigned.
    expect(money(9849.81 - (9849.81 + 2e-12), 'USDT')).toBe('0.00 USDT');
    expect(signedMoney(1.8e-12, 'USDT')).toBe('0.00 USDT');
    expect(signedMoney(0.00000001, 'BTC')).toBe('+0.00000001 BTC'); // a satoshi is money
  });

  it('prices in the market tick, quantities in the lot step', () => {
    expect(price(105879.75, 0.01)).toBe('105,879.75');
    expect(price(105879.7, 0.01)).toBe('105,879.70');
    expect(price(0.0000123456, 1e-8)).toBe('0.00001235');
    expect(price(105879.753)).toBe('105,879.75');
    expect(price(1.234567)).toBe('1.2346');
    expect(qty(0.04717, 0.00001)).toBe('0.04717');
    expect(qty(0.005, 0.00001)).toBe('0.005');
    expect(qty(1e-9, 0.00001)).toBe('0.000000001');
    expect(qty(1e-9)).toBe('0.000000001');
    expect(qty(12345.5, 0.1)).toBe('12,345.5');
    expect(plain(0.1 + 0.2)).toBe('0.3');
    expect(assetAmount(0.5313789, 'USDT', BTC)).toBe('0.53 USDT');
    expect(assetAmount(0.0000053, 'BTC', BTC)).toBe('0.0000053 BTC');
    expect(assetAmount(0.01, 'BNB', BTC)).toBe('0.01 BNB');
  });

  it('percentages never read 0% for a non-zero value; durations in words', () => {
    expect(percent(0.052)).toBe('5.2%');
    expect(percent(0.62)).toBe('62%');
    expect(percent(12_506.576)).toBe('1,250,657.6%'); // a /buy of 1e9 BTC's share of equity, in a risk verdict
    expect(pct(125.5)).toBe('+12,550.00%');
    expect(percent(0.025, 4)).toBe('2.5%');
    expect(percent(0.000000001, 4)).toBe('0.0000001%');
    expect(percent(0)).toBe('0%');
    expect(percent(1)).toBe('100%');
    expect(percent(0.9999664)).toBe('99.99%');
    expect(percent(-0.9996, 0)).toBe('-99.96%');
    expect(pct(0.0123)).toBe('+1.23%');
    expect(pct(-0.005)).toBe('-0.50%');
    expect(pct(1e-9)).toBe('0.00%');
    expect(duration(40_000)).toBe('40 s');
    expect(duration(90_000)).toBe('1 min 30 s');
    expect(duration(2 * 3_600_000)).toBe('2 h');
    expect(duration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(duration(NaN)).toBe('—');
    expect(utc(Date.UTC(2026, 10, 22))).toBe('2026-11-22 00:00 UTC');
    expect(utc(1e300)).toBe('—');
  });

  it('no number ever prints as exponent, Infinity, NaN or -0, at any magnitude', () => {
    const anyDouble = fc.double({ noNaN: false });
    const step = fc.constantFrom(undefined, 1, 0.1, 0.01, 0.00001, 1e-8, 0.5);
    fc.assert(
      fc.property(anyDouble, step, (x, s) => {
        for (const out of [money(x, 'USDT'), signedMoney(x, ''), price(x, s), qty(x, s), plain(x), percent(x), pct(x), duration(x)]) {
          expect(out).not.toMatch(/e[+-]?\d|Infinity|NaN/);
          expect(out).not.toMatch(/^[+-]0(\.0+)?(%| |$)/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a quantity or price read back is the number rounded to the step', () => {
    const steps = fc.constantFrom(1, 0.1, 0.01, 0.001, 0.00001, 1e-8);
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), steps, (x, s) => {
        const back = (t: string): number => Number(t.replace(/,/g, ''));
        const decimals = Math.round(-Math.log10(s));
        expect(back(price(x, s))).toBeCloseTo(Number(x.toFixed(decimals)), decimals);
        const q = back(qty(x, s));
        if (x >= s) expect(q).toBeCloseTo(Number(x.toFixed(decimals)), decimals);
      }),
    );
  });

  it('a count reads in the right number: one order, no orders, 2 orders', () => {
    expect(counted(1, 'order')).toBe('1 order');
    expect(counted(0, 'open position')).toBe('0 open positions');
    expect(counted(2, 'pending trade proposal')).toBe('2 pending trade proposals');
    expect(counted(5254, 'alert')).toBe('5254 alerts');
  });
});
