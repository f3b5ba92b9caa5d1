import { describe, expect, it } from 'vitest';
import type { Candle } from '../../src/core/types.ts';
import { Atr, Bollinger, Ema, Macd, Rsi, Sma } from '../../src/strategy/indicators.ts';
import {
  candlesFromCloses,
  hasData,
  loadCandles,
  maxRelErr,
  mulberry32,
  randomWalk,
  refAtr,
  refBollinger,
  refEma,
  refMacd,
  refRsi,
  refSma,
} from '../helpers/indicator-reference.ts';

const feed = <T extends { update(x: number): number }>(ind: T, xs: readonly number[]): number[] => xs.map((x) => ind.update(x));

function checkAgainstReferences(name: string, candles: readonly Candle[]): void {
  const xs = candles.map((c) => c.close);
  const priceFloor = xs.reduce((a, b) => Math.min(a, b), Infinity);

  describe(`ours vs naive references (${name})`, () => {
    it.each([1, 2, 10, 30, 200])('Sma(%i) within 1e-12 relative of a fresh sum', (n) => {
      const e = maxRelErr(feed(new Sma(n), xs), refSma(xs, n));
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
    it.each([1, 12, 26])('Ema(%i)', (n) => {
      const e = maxRelErr(feed(new Ema(n), xs), refEma(xs, n));
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
    it.each([2, 14])('Rsi(%i)', (n) => {
      const e = maxRelErr(feed(new Rsi(n), xs), refRsi(xs, n));
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-10);
    });
    it('Bollinger(20, 2): middle and bands to 1e-12, stdev to 1e-9 of itself (and 1e-12 of the price)', () => {
      const bb = new Bollinger(20, 2);
      const mid: number[] = [];
      const up: number[] = [];
      const lo: number[] = [];
      const sd: number[] = [];
      for (const x of xs) {
        mid.push(bb.update(x));
        up.push(bb.upper);
        lo.push(bb.lower);
        sd.push(bb.stdev);
      }
      const ref = refBollinger(xs, 20, 2);
      expect(maxRelErr(mid, ref.mid).nanMismatch).toBe(-1);
      expect(maxRelErr(mid, ref.mid).err).toBeLessThan(1e-12);
      expect(maxRelErr(up, ref.upper).err).toBeLessThan(1e-12);
      expect(maxRelErr(lo, ref.lower).err).toBeLessThan(1e-12);
      expect(maxRelErr(sd, ref.sd, priceFloor).err).toBeLessThan(1e-12);
      // Relative to σ itself: where σ is tiny next to the price, the reference has a few 1e-10 of its own error.
      expect(maxRelErr(sd, ref.sd, 1e-3).err).toBeLessThan(1e-9);
    });
    it('Macd(12, 26, 9): line, signal, histogram to 1e-12 of the price level', () => {
      const m = new Macd(12, 26, 9);
      const ret: number[] = [];
      const line: number[] = [];
      const sig: number[] = [];
      const hist: number[] = [];
      for (const x of xs) {
        ret.push(m.update(x));
        line.push(m.macd);
        sig.push(m.signal);
        hist.push(m.histogram);
      }
      const ref = refMacd(xs, 12, 26, 9);
      for (const [got, exp] of [
        [line, ref.macd],
        [sig, ref.signal],
        [hist, ref.histogram],
      ] as const) {
        const e = maxRelErr(got, exp, priceFloor);
        expect(e.nanMismatch).toBe(-1);
        expect(e.err).toBeLessThan(1e-12);
      }
      // update() returns the line only once the signal is ready too.
      expect(ret.findIndex((v) => !Number.isNaN(v))).toBe(33);
      expect(ret[33]).toBe(line[33]);
    });
    it('Atr(14)', () => {
      const a = new Atr(14);
      const got = candles.map((c) => a.update(c));
      const e = maxRelErr(got, refAtr(candles, 14));
      expect(e.nanMismatch).toBe(-1);
      expect(e.err).toBeLessThan(1e-12);
    });
  });
}

checkAgainstReferences('random walk, seed 1', candlesFromCloses(randomWalk(20_000, 1)));
checkAgainstReferences('random walk, seed 2, ±2% steps', candlesFromCloses(randomWalk(20_000, 2, 1000, 0.02)));

const REAL = ['binance_spot_BTCUSDT_1m_2023-03-16_2023-05-01.csv', 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv'];
for (const file of REAL) {
  describe.skipIf(!hasData(file))(file, () => {
    checkAgainstReferences(file, hasData(file) ? loadCandles(file) : []);
  });
}

describe('Sma: exact on flat windows (pandas-style)', () => {
  // A noisy prefix leaves float residue in any running sum; a flat run must still give the value exactly.
  function noisyThenFlat(seed: number, flatValue: number, flatLen: number): number[] {
    return [...randomWalk(5_000, seed, flatValue, 0.01), ...Array.from({ length: flatLen }, () => flatValue)];
  }

  it.each([
    [1, 28080],
    [2, 105554.32],
    [3, 0.1],
    [4, 1234.5678],
  ])('seed %i, flat at %d: fast and slow both return exactly the flat value', (seed, flat) => {
    const xs = noisyThenFlat(seed, flat, 72);
    const fast = new Sma(10);
    const slow = new Sma(30);
    const f = feed(fast, xs);
    const s = feed(slow, xs);
    for (let i = xs.length - 72 + 29; i < xs.length; i++) {
      expect(f[i]).toBe(flat);
      expect(s[i]).toBe(flat);
      expect(f[i]! - s[i]!).toBe(0);
    }
    expect(fast.flat && slow.flat).toBe(true);
  });

  it('the naive running sum (sum − old + new) drifts where ours does not', () => {
    // Documents why: find a seed where the uncompensated running mean misses the flat value.
    let drifted = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const xs = noisyThenFlat(seed, 28080, 40);
      let sum = 0;
      for (let i = 0; i < xs.length; i++) {
        sum += xs[i]!;
        if (i >= 30) sum -= xs[i - 30]!;
      }
      if (sum / 30 !== 28080) drifted++;
      expect(feed(new Sma(30), xs).at(-1)).toBe(28080);
    }
    expect(drifted).toBeGreaterThan(0);
  });

  it('long random series (1M values, prices ~1e5): within 1e-9 relative of a fresh sum at checkpoints', () => {
    const rnd = mulberry32(99);
    const sma = new Sma(30);
    const window: number[] = [];
    let p = 100_000;
    let worst = 0;
    for (let i = 0; i < 1_000_000; i++) {
      p *= 1 + (rnd() - 0.5) * 0.004;
      const x = Math.round(p * 100) / 100;
      const v = sma.update(x);
      window.push(x);
      if (window.length > 30) window.shift();
      if (i % 997 === 0 && i >= 29) {
        const fresh = window.reduce((a, b) => a + b, 0) / 30;
        worst = Math.max(worst, Math.abs(v - fresh) / fresh);
      }
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('a flat window gives Bollinger σ = 0 exactly and bands equal to the value', () => {
    const bb = new Bollinger(20, 2);
    for (const x of noisyThenFlat(5, 28080, 25)) bb.update(x);
    expect(bb.stdev).toBe(0);
    expect(bb.upper).toBe(28080);
    expect(bb.lower).toBe(28080);
  });
});

describe('readiness and edge cases', () => {
  it('first ready index: Sma n−1, Ema n−1, Rsi n, Bollinger n−1, Macd slow+signal−2, Atr n', () => {
    const xs = randomWalk(100, 3);
    const c = candlesFromCloses(xs);
    const first = (v: number[]): number => v.findIndex((x) => !Number.isNaN(x));
    expect(first(feed(new Sma(10), xs))).toBe(9);
    expect(first(feed(new Ema(10), xs))).toBe(9);
    expect(first(feed(new Rsi(14), xs))).toBe(14);
    expect(first(feed(new Bollinger(20), xs))).toBe(19);
    expect(first(feed(new Macd(12, 26, 9), xs))).toBe(33);
    const atr = new Atr(14);
    expect(first(c.map((k) => atr.update(k)))).toBe(14);
  });

  it('ready / value follow update', () => {
    const s = new Sma(3);
    expect(s.ready).toBe(false);
    expect(s.value).toBeNaN();
    s.update(1);
    s.update(2);
    expect(s.ready).toBe(false);
    expect(s.update(3)).toBe(2);
    expect(s.ready).toBe(true);
    expect(s.value).toBe(2);
    const m = new Macd(2, 3, 2);
    expect(m.ready).toBe(false);
    [1, 2, 3, 4].forEach((x) => m.update(x));
    expect(m.ready).toBe(true);
    expect(m.value).toBe(m.macd);
  });

  it('Rsi: all gains → 100, all losses → 0, no movement → 50', () => {
    const up = new Rsi(5);
    const down = new Rsi(5);
    const flat = new Rsi(5);
    for (let i = 0; i < 10; i++) {
      up.update(100 + i);
      down.update(100 - i);
      flat.update(100);
    }
    expect(up.value).toBe(100);
    expect(down.value).toBe(0);
    expect(flat.value).toBe(50);
  });

  it('Ema stays exactly on a flat input', () => {
    const e = new Ema(12);
    for (let i = 0; i < 100; i++) e.update(28080);
    expect(e.value).toBe(28080);
  });

  it('bad periods throw', () => {
    expect(() => new Sma(0)).toThrow(/period/);
    expect(() => new Ema(1.5)).toThrow(/period/);
    expect(() => new Bollinger(20, 0)).toThrow(/k must be/);
  });
});
