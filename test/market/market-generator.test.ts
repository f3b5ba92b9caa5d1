import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TIMEFRAME_MS } from '../../src/core/types.ts';
import { loadCandles } from '../../src/market/csv.ts';
import { detectTimeframe } from '../../src/market/feed.ts';
import { generateCandleStream, generateCandles, generateCsv, mulberry32 } from '../../src/market/generator.ts';
import { validateSeries } from '../../src/market/validator.ts';

const dir = mkdtempSync(join(tmpdir(), 'skipper-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('synthetic candle generator', () => {
  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(124)()).not.toBe(xs[0]);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateCandles({ count: 500, seed: 5 });
    expect(generateCandles({ count: 500, seed: 5 })).toEqual(a);
    expect(generateCandles({ count: 500, seed: 6 })).not.toEqual(a);
  });

  it('produces valid, grid-aligned candles with the requested shape', () => {
    const a = generateCandles({ count: 5000, seed: 1, timeframe: '5m', startPrice: 2000, volatility: 0.01, startTs: Date.UTC(2022, 0, 1) });
    expect(a).toHaveLength(5000);
    expect(a[0]!.ts).toBe(Date.UTC(2022, 0, 1));
    expect(a[0]!.open).toBe(2000);
    const r = validateSeries(a, 'ETH/USDT', '5m');
    expect(r.issues.filter((i) => i.kind !== 'flat')).toEqual([]);
    for (let i = 1; i < a.length; i++) expect(a[i]!.open).toBe(a[i - 1]!.close);
    // Realised volatility of log returns is close to the requested one.
    const rets = a.slice(1).map((c, i) => Math.log(c.close / a[i]!.close));
    const sd = Math.sqrt(rets.reduce((s, x) => s + x * x, 0) / rets.length);
    expect(sd).toBeGreaterThan(0.008);
    expect(sd).toBeLessThan(0.012);
    expect(detectTimeframe(a)).toBe('5m');
  });

  it('injects oddities without shifting the rest of the series', () => {
    const clean = generateCandles({ count: 300, seed: 2 });
    const odd = generateCandles({ count: 300, seed: 2, oddities: { flatRuns: [{ at: 50, length: 3 }], nan: [10] } });
    // Same randoms are drawn per bar, so bars before/after are unaffected (price path restarts from the flat close).
    expect(odd.slice(0, 10)).toEqual(clean.slice(0, 10));
    expect(odd[10]!.close).toBeNaN();
    expect(odd[50]).toMatchObject({ open: odd[49]!.close, high: odd[49]!.close, low: odd[49]!.close, close: odd[49]!.close, volume: 0 });
    const gap = generateCandles({ count: 10, seed: 2, oddities: { gaps: [{ at: 5, length: 3 }], misaligned: [8], misalignMs: 1234 } });
    expect(gap[5]!.ts - gap[4]!.ts).toBe(4 * TIMEFRAME_MS['1m']);
    expect(gap[8]!.ts % TIMEFRAME_MS['1m']).toBe(1234);
  });

  it('generateCsv streams candles to disk (same as the in-memory generator)', async () => {
    const p = join(dir, 'g.csv');
    await generateCsv(p, 50_000, 77);
    const back = loadCandles(p);
    expect(back).toEqual(generateCandles({ count: 50_000, seed: 77 }));
    // The stream form is lazy: taking 3 bars does not generate the rest.
    const it3 = generateCandleStream({ count: 1e12, seed: 1 });
    expect([it3.next().value, it3.next().value, it3.next().value]).toHaveLength(3);
  });
});
