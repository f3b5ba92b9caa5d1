// What the two indicator libraries in package.json actually compute, checked against naive textbook references
// (test/helpers/indicator-reference.ts). Findings, pinned at technicalindicators 3.1.0 / trading-signals 8.3.0:
//
// technicalindicators (streaming `nextValue`, a generator per indicator):
//   SMA        running sum `sum − old + new`, uncompensated: ~1e-15 relative, but NOT exact on flat windows
//              (ten 28080s → 28079.999999999873 on the real 2023 file). LinkedList node per value.
//   EMA        SMA-seeded, α = 2/(n+1): matches the reference to ~1e-15.
//   RSI        Wilder, correct seeding, but every value is rounded to 2 decimals (toFixed(2)).
//   Bollinger  matches (population σ), but σ is recomputed over the window each update (O(n)).
//   MACD       with SimpleMAOscillator/SimpleMASignal = false: matches (signal ready after 34 inputs).
//   ATR        matches (first candle only primes the previous close; ready after n+1 candles).
//   All results also pass through a global `precision` setting (setConfig) that would round everything.
// trading-signals (`add`):
//   SMA        re-averages the whole window each update (O(n), Array.shift); bit-identical to a fresh sum.
//   EMA        seeded with the FIRST PRICE, not the SMA of the first n: off by up to ~1e-3 relative at first,
//              converges after a few hundred inputs. (getResult() is null for the first n−1.)
//   RSI        Wilder via WSMA: matches to ~1e-15, but WSMA keeps an O(n) SMA running forever; gives 100
//              (not 50) when there was no movement at all.
//   Bollinger  matches exactly (fresh sums), O(n).
//   MACD       EMAs seeded with the first price; the signal starts with the first MACD value (result after 26
//              inputs instead of 34); differs from the reference for ~250 inputs.
//   ATR        counts the first candle's high − low as a true range: ready one candle early, differs for ~250.
import { describe, expect, it } from 'vitest';
import * as TI from 'technicalindicators';
import * as TS from 'trading-signals';
import type { Candle } from '../../src/core/types.ts';
import {
  candlesFromCloses,
  hasData,
  loadCandles,
  maxRelErr,
  randomWalk,
  refAtr,
  refBollinger,
  refEma,
  refMacd,
  refRsi,
  refSma,
} from '../helpers/indicator-reference.ts';

const nan = (v: number | null | undefined): number => (v === undefined || v === null ? NaN : v);
const firstReady = (xs: readonly number[]): number => xs.findIndex((v) => !Number.isNaN(v));

const tiSma = (xs: readonly number[], n: number): number[] => {
  const x = new TI.SMA({ period: n, values: [] });
  return xs.map((v) => nan(x.nextValue(v)));
};
const tsSma = (xs: readonly number[], n: number): number[] => {
  const x = new TS.SMA(n);
  return xs.map((v) => nan(x.add(v)));
};

function checkAll(name: string, candles: readonly Candle[]): void {
  const xs = candles.map((c) => c.close);
  const priceFloor = xs.reduce((a, b) => Math.min(a, b), Infinity); // MACD lives near 0: compare it relative to the price level

  describe(`technicalindicators vs reference (${name})`, () => {
    it('SMA matches to 1e-12 relative', () => {
      const e = maxRelErr(tiSma(xs, 30), refSma(xs, 30));
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
    it('EMA matches to 1e-12 relative', () => {
      const x = new TI.EMA({ period: 26, values: [] });
      const e = maxRelErr(
        xs.map((v) => nan(x.nextValue(v))),
        refEma(xs, 26),
      );
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
    it('RSI is the reference rounded to 2 decimals', () => {
      const x = new TI.RSI({ period: 14, values: [] });
      const got = xs.map((v) => nan(x.nextValue(v)));
      const ref = refRsi(xs, 14);
      expect(firstReady(got)).toBe(firstReady(ref));
      let maxDiff = 0;
      for (let i = firstReady(ref); i < xs.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
        expect(Math.abs(got[i]! * 100 - Math.round(got[i]! * 100))).toBeLessThan(1e-6); // 2 decimals
      }
      expect(maxDiff).toBeLessThanOrEqual(0.005 + 1e-9);
      expect(maxDiff).toBeGreaterThan(1e-4); // i.e. not just float noise
    });
    it('Bollinger matches to 1e-12 relative (population stdev)', () => {
      const x = new TI.BollingerBands({ period: 20, stdDev: 2, values: [] });
      const mid: number[] = [];
      const upper: number[] = [];
      const lower: number[] = [];
      for (const v of xs) {
        const r = x.nextValue(v);
        mid.push(nan(r?.middle));
        upper.push(nan(r?.upper));
        lower.push(nan(r?.lower));
      }
      const ref = refBollinger(xs, 20, 2);
      for (const [got, exp] of [
        [mid, ref.mid],
        [upper, ref.upper],
        [lower, ref.lower],
      ] as const) {
        const e = maxRelErr(got, exp);
        expect(e.nanMismatch).toBe(-1);
        expect(e.err).toBeLessThan(1e-12);
      }
    });
    it('MACD (EMA oscillator and signal) matches to 1e-12 of the price level', () => {
      const x = new TI.MACD({
        values: [],
        fastPeriod: 12,
        slowPeriod: 26,
        signalPeriod: 9,
        SimpleMAOscillator: false,
        SimpleMASignal: false,
      });
      const line: number[] = [];
      const signal: number[] = [];
      for (const v of xs) {
        const r = x.nextValue(v);
        line.push(nan(r?.MACD));
        signal.push(nan(r?.signal));
      }
      const ref = refMacd(xs, 12, 26, 9);
      expect(firstReady(signal)).toBe(33);
      for (const [got, exp] of [
        [line, ref.macd],
        [signal, ref.signal],
      ] as const) {
        const e = maxRelErr(got, exp, priceFloor);
        expect(e.nanMismatch).toBe(-1);
        expect(e.err).toBeLessThan(1e-12);
      }
    });
    it('ATR matches to 1e-12 relative', () => {
      const x = new TI.ATR({ high: [], low: [], close: [], period: 14 });
      const got = candles.map((c) => nan(x.nextValue({ high: c.high, low: c.low, close: c.close })));
      const e = maxRelErr(got, refAtr(candles, 14));
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
  });

  describe(`trading-signals vs reference (${name})`, () => {
    it('SMA is bit-identical to a fresh sum (it re-sums the window)', () => {
      expect(maxRelErr(tsSma(xs, 30), refSma(xs, 30)).err).toBe(0);
    });
    it('EMA is seeded with the first price: wrong at first, converges after a few hundred inputs', () => {
      const x = new TS.EMA(26);
      const got = xs.map((v) => {
        x.add(v);
        return nan(x.getResult());
      });
      const ref = refEma(xs, 26);
      expect(firstReady(got)).toBe(25);
      expect(Math.abs(got[25]! - ref[25]!) / ref[25]!).toBeGreaterThan(1e-6);
      expect(maxRelErr(got.slice(600), ref.slice(600)).err).toBeLessThan(1e-12);
    });
    it('RSI matches to 1e-12 (Wilder via WSMA)', () => {
      const x = new TS.RSI(14);
      const e = maxRelErr(
        xs.map((v) => nan(x.add(v))),
        refRsi(xs, 14),
      );
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
    it('Bollinger is bit-identical to the fresh-sum reference', () => {
      const x = new TS.BollingerBands(20, 2);
      const upper: number[] = [];
      const lower: number[] = [];
      for (const v of xs) {
        const r = x.add(v);
        upper.push(nan(r?.upper));
        lower.push(nan(r?.lower));
      }
      const ref = refBollinger(xs, 20, 2);
      expect(maxRelErr(upper, ref.upper).err).toBe(0);
      expect(maxRelErr(lower, ref.lower).err).toBe(0);
    });
    it('MACD: first-price-seeded EMAs, signal from the first MACD value (ready at 26 inputs, not 34)', () => {
      const x = new TS.MACD(new TS.EMA(12), new TS.EMA(26), new TS.EMA(9));
      const line: number[] = [];
      const signal: number[] = [];
      for (const v of xs) {
        const r = x.add(v);
        line.push(nan(r?.macd));
        signal.push(nan(r?.signal));
      }
      const ref = refMacd(xs, 12, 26, 9);
      expect(firstReady(signal)).toBe(25);
      expect(firstReady(ref.signal)).toBe(33);
      expect(Math.abs(line[25]! - ref.macd[25]!)).toBeGreaterThan(1e-6 * priceFloor);
      expect(maxRelErr(line.slice(600), ref.macd.slice(600), priceFloor).err).toBeLessThan(1e-12);
      expect(maxRelErr(signal.slice(600), ref.signal.slice(600), priceFloor).err).toBeLessThan(1e-12);
    });
    it("ATR counts the first candle's high − low: ready one candle early, then converges", () => {
      const x = new TS.ATR(14);
      const got = candles.map((c) => nan(x.add({ high: c.high, low: c.low, close: c.close })));
      const ref = refAtr(candles, 14);
      expect(firstReady(got)).toBe(13);
      expect(firstReady(ref)).toBe(14);
      expect(Math.abs(got[14]! - ref[14]!) / ref[14]!).toBeGreaterThan(1e-6);
      expect(maxRelErr(got.slice(600), ref.slice(600)).err).toBeLessThan(1e-9);
    });
  });
}

checkAll('seeded random walk', candlesFromCloses(randomWalk(20_000, 1)));

const REAL = 'binance_spot_BTCUSDT_1m_2023-03-16_2023-05-01.csv';
describe.skipIf(!hasData(REAL))('real candles', () => {
  const candles = hasData(REAL) ? loadCandles(REAL) : [];
  checkAll(REAL, candles.slice(0, 30_000));

  it('on the 73-candle flat run at 28080: technicalindicators SMA drifts, trading-signals SMA is exact', () => {
    const xs = candles.map((c) => c.close);
    const at = xs.findIndex((_, i) => i >= 40 && xs.slice(i - 40, i + 1).every((v) => v === 28080));
    expect(at).toBeGreaterThan(0);
    const ti10 = tiSma(xs.slice(0, at + 1), 10)[at];
    const ti30 = tiSma(xs.slice(0, at + 1), 30)[at];
    expect(ti10).not.toBe(28080);
    expect(ti30).not.toBe(28080);
    expect(Math.abs(ti10! - 28080)).toBeLessThan(1e-6);
    expect(tsSma(xs.slice(0, at + 1), 10)[at]).toBe(28080);
    expect(tsSma(xs.slice(0, at + 1), 30)[at]).toBe(28080);
  });
});

describe('edge conventions', () => {
  it('no movement at all: trading-signals RSI says 100, technicalindicators says 100 (ours: 50)', () => {
    const flat = Array.from({ length: 40 }, () => 100);
    const ts = new TS.RSI(14);
    const ti = new TI.RSI({ period: 14, values: [] });
    let a: number | null = null;
    let b: number | undefined;
    for (const v of flat) {
      a = ts.add(v);
      b = ti.nextValue(v);
    }
    expect(a).toBe(100);
    expect(b).toBe(100);
  });
  it('trading-signals SMA is O(n): its window is a plain array re-averaged on every add', () => {
    const x = new TS.SMA(5);
    for (let i = 1; i <= 7; i++) x.add(i);
    expect(x.prices).toEqual([3, 4, 5, 6, 7]);
  });
});
