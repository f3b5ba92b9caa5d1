// ema-cross, macd, rsi-reversion, bollinger: signals equal a plain reference loop over naive indicator values.
import { describe, expect, it } from 'vitest';
import type { PositionSide } from '../../src/core/types.ts';
import { createStrategy } from '../../src/strategy/registry.ts';
import type { Strategy } from '../../src/strategy/types.ts';
import { candlesFromCloses, hasData, loadCandles, refBollinger, refEma, refMacd, refRsi } from '../helpers/indicator-reference.ts';
import { type Fired, refCrossSignals, run, walkWithFlats } from '../helpers/strategy-harness.ts';

const make = (name: string, params: Record<string, number> = {}): Strategy =>
  createStrategy(name, 'BTCUSDT', { timeframeMs: 60_000, ...params });

/** Reference rsi-reversion: crosses of RSI − level by sign vs the last non-zero sign, then the position rules. */
function refRsiSignals(closes: readonly number[], period: number, os: number, ob: number, allowShort: boolean): Fired[] {
  const rsi = refRsi(closes, period);
  const out: Fired[] = [];
  let lastLo = 0;
  let lastHi = 0;
  let pos: PositionSide | null = null;
  for (let i = 0; i < closes.length; i++) {
    const r = rsi[i]!;
    if (Number.isNaN(r)) continue;
    const lo = r - os;
    const hi = r - ob;
    const upThroughOs = lastLo < 0 && lo > 0;
    const belowOs = lastLo > 0 && lo < 0;
    const aboveOb = lastHi < 0 && hi > 0;
    const downThroughOb = lastHi > 0 && hi < 0;
    if (lo !== 0) lastLo = lo;
    if (hi !== 0) lastHi = hi;
    if (pos === null && upThroughOs) {
      out.push({ i, action: 'enter_long' });
      pos = 'long';
    } else if (pos === null && downThroughOb && allowShort) {
      out.push({ i, action: 'enter_short' });
      pos = 'short';
    } else if (pos === 'long' && aboveOb) {
      out.push({ i, action: 'exit_long' });
      pos = null;
    } else if (pos === 'short' && belowOs) {
      out.push({ i, action: 'exit_short' });
      pos = null;
    }
  }
  return out;
}

/**
 * Reference bollinger: entries on close crossing back inside a band (last non-zero sign), exits at the middle.
 * close vs middle is compared exactly, in integer cents: close == middle does happen in real data (2023 file,
 * candle 52385, where a fresh float sum lands 1e-11 high and would miss the exit).
 */
function refBollingerSignals(closes: readonly number[], period: number, k: number, allowShort: boolean): Fired[] {
  const bb = refBollinger(closes, period, k, true);
  const cents = closes.map((x) => Math.round(x * 100));
  const out: Fired[] = [];
  let lastLo = 0;
  let lastUp = 0;
  let pos: PositionSide | null = null;
  for (let i = 0; i < closes.length; i++) {
    if (Number.isNaN(bb.mid[i]!)) continue;
    const c = closes[i]!;
    let windowCents = 0;
    for (let j = i - period + 1; j <= i; j++) windowCents += cents[j]!;
    const vsMid = cents[i]! * period - windowCents; // sign of close − middle, exactly
    const lo = c - bb.lower[i]!;
    const up = c - bb.upper[i]!;
    const backAboveLower = lastLo < 0 && lo > 0;
    const backBelowUpper = lastUp > 0 && up < 0;
    if (lo !== 0) lastLo = lo;
    if (up !== 0) lastUp = up;
    if (pos === null && backAboveLower) {
      out.push({ i, action: 'enter_long' });
      pos = 'long';
    } else if (pos === null && backBelowUpper && allowShort) {
      out.push({ i, action: 'enter_short' });
      pos = 'short';
    } else if (pos === 'long' && vsMid >= 0) {
      out.push({ i, action: 'exit_long' });
      pos = null;
    } else if (pos === 'short' && vsMid <= 0) {
      out.push({ i, action: 'exit_short' });
      pos = null;
    }
  }
  return out;
}

describe.each([21, 22])('vs reference loops, synthetic walk with flat runs (seed %i)', (seed) => {
  const closes = walkWithFlats(20_000, seed);
  const candles = candlesFromCloses(closes);

  describe.each([false, true])('allowShort %s', (allowShort) => {
    it('ema-cross 12/26 and 5/8', () => {
      for (const [fast, slow] of [
        [12, 26],
        [5, 8],
      ] as const) {
        const f = refEma(closes, fast);
        const s = refEma(closes, slow);
        const { fired } = run(make('ema-cross', { fast, slow }), candles, { allowShort });
        expect(fired.length).toBeGreaterThan(100);
        expect(fired).toEqual(
          refCrossSignals(
            f.map((x, i) => x - s[i]!),
            allowShort,
          ),
        );
      }
    });

    it('macd 12/26/9 and 3/10/4', () => {
      for (const [fast, slow, signal] of [
        [12, 26, 9],
        [3, 10, 4],
      ] as const) {
        const m = refMacd(closes, fast, slow, signal);
        const { fired } = run(make('macd', { fast, slow, signal }), candles, { allowShort });
        expect(fired.length).toBeGreaterThan(100);
        expect(fired).toEqual(refCrossSignals(m.histogram, allowShort));
      }
    });

    it('rsi-reversion 14 30/70 and 6 25/75', () => {
      for (const [period, os, ob] of [
        [14, 30, 70],
        [6, 25, 75],
      ] as const) {
        const { fired } = run(make('rsi-reversion', { period, oversold: os, overbought: ob }), candles, { allowShort });
        expect(fired.length).toBeGreaterThan(50);
        expect(fired).toEqual(refRsiSignals(closes, period, os, ob, allowShort));
      }
    });

    it('bollinger 20/2 and 10/1.5', () => {
      for (const [period, k] of [
        [20, 2],
        [10, 1.5],
      ] as const) {
        const { fired } = run(make('bollinger', { period, k }), candles, { allowShort });
        expect(fired.length).toBeGreaterThan(100);
        expect(fired).toEqual(refBollingerSignals(closes, period, k, allowShort));
      }
    });
  });
});

const REAL = 'binance_spot_BTCUSDT_1m_2023-03-16_2023-05-01.csv';
describe.skipIf(!hasData(REAL))(`vs reference loops on ${REAL} (has a 73-candle flat run)`, () => {
  const candles = hasData(REAL) ? loadCandles(REAL) : [];
  const closes = candles.map((c) => c.close);
  it.each([false, true])('all four, allowShort %s', (allowShort) => {
    const e12 = refEma(closes, 12);
    const e26 = refEma(closes, 26);
    expect(run(make('ema-cross'), candles, { allowShort }).fired).toEqual(
      refCrossSignals(
        e12.map((x, i) => x - e26[i]!),
        allowShort,
      ),
    );
    expect(run(make('macd'), candles, { allowShort }).fired).toEqual(refCrossSignals(refMacd(closes, 12, 26, 9).histogram, allowShort));
    expect(run(make('rsi-reversion'), candles, { allowShort }).fired).toEqual(refRsiSignals(closes, 14, 30, 70, allowShort));
    expect(run(make('bollinger'), candles, { allowShort }).fired).toEqual(refBollingerSignals(closes, 20, 2, allowShort));
  });
});

describe('warmup: no signal before index `warmup`', () => {
  it.each([
    ['ema-cross', 26],
    ['macd', 34],
    ['rsi-reversion', 15],
    ['bollinger', 20],
  ])('%s defaults → warmup %i, respected on random data', (name, warmup) => {
    expect(make(name).warmup).toBe(warmup);
    for (let seed = 1; seed <= 30; seed++) {
      const { fired } = run(make(name), candlesFromCloses(walkWithFlats(200, seed)), { allowShort: true });
      for (const f of fired) expect(f.i).toBeGreaterThanOrEqual(warmup);
    }
  });
});

describe('signal details', () => {
  const closes = walkWithFlats(5_000, 5);
  const candles = candlesFromCloses(closes);
  it.each([
    ['ema-cross', /^EMA12 crossed (above|below) EMA26 \(\S+ [<>] \S+\)$/],
    ['macd', /^MACD crossed (above|below) signal \(\S+ [<>] \S+\)$/],
    ['rsi-reversion', /^RSI14 crossed (up through|above|down through|below) (30|70) \(\S+\)$/],
    [
      'bollinger',
      /^close \S+ (crossed back above the lower band|crossed back below the upper band|reached the middle band) \S+ \(BB20,2\)$/,
    ],
  ])('%s: fields and reason', (name, reason) => {
    const { fired, signals } = run(make(name), candles, { allowShort: true });
    expect(signals.length).toBeGreaterThan(5);
    for (const [k, s] of signals.entries()) {
      const i = fired[k]!.i;
      expect(s.symbol).toBe('BTCUSDT');
      expect(s.strategy).toBe(name);
      expect(s.ts).toBe(candles[i]!.ts + 60_000);
      expect(s.price).toBe(closes[i]);
      expect(s.reason).toMatch(reason);
      expect(s.stopLoss).toBeUndefined();
    }
  });

  it.each(['ema-cross', 'macd', 'rsi-reversion', 'bollinger'])('%s: pending blocks entries, atrStop sets stops on entries', (name) => {
    const all = new Set(candles.map((_, i) => i));
    expect(run(make(name), candles, { pendingAt: all, allowShort: true }).fired).toEqual([]);
    const { signals } = run(make(name, { atrStop: 2 }), candles, { allowShort: true });
    for (const s of signals) {
      if (s.action === 'enter_long') expect(s.stopLoss).toBeLessThan(s.price);
      else if (s.action === 'enter_short') expect(s.stopLoss).toBeGreaterThan(s.price);
      else expect(s.stopLoss).toBeUndefined();
    }
  });
});
