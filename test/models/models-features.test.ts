// The streaming model features against plain formulas, the scratch-copy contract, and golden parity of the
// features in every committed model folder (the TS trainer's and the Python reference's).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../../src/core/types.ts';
import { PROJECT_ROOT } from '../../src/core/paths.ts';
import { FEATURES, FeaturePipeline, featureSpecProblems, type FeatureSpec } from '../../src/models/features.ts';
import { close, goldenCandles, readGolden, readManifest } from '../../src/models/loader.ts';
import { testCandles } from '../helpers/models.ts';

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const pstdev = (a: number[]) => {
  const m = mean(a);
  return Math.sqrt(mean(a.map((x) => (x - m) ** 2)));
};

/** Plain O(n·window) reference of one feature at candle i (NaN before it is defined). */
function reference(spec: FeatureSpec, cs: Candle[], i: number): number {
  const n = spec.window ?? 0;
  const c = cs[i]!;
  const closes = cs.slice(0, i + 1).map((x) => x.close);
  switch (spec.fn) {
    case 'ret':
      return i >= n ? c.close / cs[i - n]!.close - 1 : NaN;
    case 'logret':
      return i >= n ? Math.log(c.close / cs[i - n]!.close) : NaN;
    case 'vol': {
      if (i < n) return NaN;
      const r = [];
      for (let k = i - n + 1; k <= i; k++) r.push(Math.log(cs[k]!.close / cs[k - 1]!.close));
      return pstdev(r);
    }
    case 'bb_pctb': {
      if (i < n - 1) return NaN;
      const w = closes.slice(i - n + 1);
      const m = mean(w);
      const sd = pstdev(w);
      const k = spec.params?.k ?? 2;
      return sd > 0 ? (c.close - (m - k * sd)) / (2 * k * sd) : 0.5;
    }
    case 'volume_z': {
      if (i < n - 1) return NaN;
      const w = cs.slice(i - n + 1, i + 1).map((x) => x.volume);
      const sd = pstdev(w);
      return sd > 0 ? (c.volume - mean(w)) / sd : 0;
    }
    case 'sma_ratio':
      return i >= n - 1 ? c.close / mean(closes.slice(i - n + 1)) - 1 : NaN;
    case 'body':
      return c.high > c.low ? (c.close - c.open) / (c.high - c.low) : 0;
    case 'upper_wick':
      return c.high > c.low ? (c.high - Math.max(c.open, c.close)) / (c.high - c.low) : 0;
    case 'lower_wick':
      return c.high > c.low ? (Math.min(c.open, c.close) - c.low) / (c.high - c.low) : 0;
    case 'hour_sin':
      return Math.sin((2 * Math.PI * (c.ts % 86_400_000)) / 86_400_000);
    case 'dow_cos': {
      const d = new Date(c.ts);
      const weekMs = (((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours()) * 3_600_000 + d.getUTCMinutes() * 60_000;
      return Math.cos((2 * Math.PI * weekMs) / (7 * 86_400_000));
    }
  }
  throw new Error(`no reference for ${spec.fn}`);
}

const REFERENCED: FeatureSpec[] = [
  { name: 'ret_3', fn: 'ret', window: 3 },
  { name: 'logret_10', fn: 'logret', window: 10 },
  { name: 'vol_12', fn: 'vol', window: 12 },
  { name: 'pctb_20', fn: 'bb_pctb', window: 20, params: { k: 1.5 } },
  { name: 'vz_15', fn: 'volume_z', window: 15 },
  { name: 'sma_8', fn: 'sma_ratio', window: 8 },
  { name: 'body', fn: 'body' },
  { name: 'uw', fn: 'upper_wick' },
  { name: 'lw', fn: 'lower_wick' },
  { name: 'hs', fn: 'hour_sin' },
  { name: 'dc', fn: 'dow_cos' },
];

describe('model features', () => {
  it('each feature equals its plain formula (≤ 1e-9 relative), with flat candles and zero volume', () => {
    const cs = testCandles(300, 5);
    for (let i = 100; i < 130; i++) cs[i] = { ...cs[i]!, open: 30_000, high: 30_000, low: 30_000, close: 30_000, volume: 0 };
    const pipe = new FeaturePipeline(REFERENCED);
    expect(pipe.warmup).toBe(20);
    cs.forEach((c, i) => {
      const ready = pipe.update(c);
      expect(ready).toBe(i + 1 >= 20);
      REFERENCED.forEach((spec, k) => {
        const want = reference(spec, cs, i);
        const got = pipe.values[k]!;
        if (Number.isNaN(want)) expect(got, `${spec.name} @${i}`).toBeNaN();
        else expect(close(got, want, 1e-9) || Math.abs(got - want) < 1e-12, `${spec.name} @${i}: ${got} vs ${want}`).toBe(true);
      });
    });
  });

  it('rsi, macd, atr and ema_ratio are the shared indicators scaled: rsi in [0, 1], the others relative to the close', () => {
    const cs = testCandles(200, 8);
    const pipe = new FeaturePipeline([
      { name: 'rsi', fn: 'rsi', window: 14 },
      { name: 'macd', fn: 'macd' },
      { name: 'atr', fn: 'atr', window: 14 },
      { name: 'ema', fn: 'ema_ratio', window: 10 },
    ]);
    expect(pipe.warmup).toBe(34);
    for (const c of cs) pipe.update(c);
    const [rsi, macd, atr, ema] = pipe.values;
    expect(rsi).toBeGreaterThan(0);
    expect(rsi).toBeLessThan(1);
    expect(Math.abs(macd!)).toBeLessThan(0.01);
    expect(atr).toBeGreaterThan(0);
    expect(Math.abs(ema!)).toBeLessThan(0.05);
  });

  it('a scratch copy computes a candle without committing it: a candle never committed leaves no trace', () => {
    const specs: FeatureSpec[] = Object.keys(FEATURES).map((fn) => ({ name: fn, fn, ...(FEATURES[fn]!.window ? { window: 7 } : {}) }));
    const cs = testCandles(120, 9);
    const a = new FeaturePipeline(specs);
    const b = new FeaturePipeline(specs);
    const scratch = new FeaturePipeline(specs);
    for (let i = 0; i < cs.length; i++) {
      a.update(cs[i]!);
      if (i % 10 === 5) {
        // A bogus candle is prepared and then rejected: b must not see it.
        scratch.copyFrom(b);
        scratch.update({ ...cs[i]!, close: cs[i]!.close * 3, ts: cs[i]!.ts - 30_000 });
      }
      scratch.copyFrom(b);
      scratch.update(cs[i]!);
      b.copyFrom(scratch);
    }
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
  });

  it('refuses unknown functions, missing or stray windows and unknown parameters, naming the field', () => {
    expect(featureSpecProblems({ name: 'x', fn: 'momentum', window: 3 })[0]).toMatch(/^fn: unknown feature "momentum"/);
    expect(featureSpecProblems({ name: 'x', fn: 'rsi' })).toEqual(['window: "rsi" needs an integer window ≥ 1']);
    expect(featureSpecProblems({ name: 'x', fn: 'body', window: 3 })).toEqual(['window: "body" takes no window']);
    expect(featureSpecProblems({ name: 'x', fn: 'macd', params: { fats: 3 } })[0]).toMatch(
      /^params\.fats: "macd" accepts fast, slow, signal/,
    );
    expect(() => new FeaturePipeline([{ name: 'x', fn: 'nope' }])).toThrow(/feature "x": fn: unknown feature/);
  });
});

describe('golden parity of the committed model folders', () => {
  const roots = [join(PROJECT_ROOT, 'models'), join(PROJECT_ROOT, 'test', 'fixtures', 'models')];
  const dirs = roots
    .flatMap((r) => (existsSync(r) ? readdirSync(r).map((d) => join(r, d)) : []))
    .filter((d) => existsSync(join(d, 'manifest.json')));

  it('there are TS-trained and Python-generated golden files', () => {
    const gens = dirs.map((d) => readGolden(d).generator);
    expect(gens.some((g) => g.startsWith('skipper-trainer'))).toBe(true);
    expect(gens.some((g) => g.includes('features.py'))).toBe(true);
  });

  it.each(dirs.map((d) => [d.slice(PROJECT_ROOT.length + 1), d]))(
    '%s: TypeScript features equal the golden features (≤ 1e-9 relative)',
    (_label, dir) => {
      const m = readManifest(dir);
      const g = readGolden(dir);
      const pipe = new FeaturePipeline(m.features);
      const rows = new Map(g.rows.map((r) => [r.index, r]));
      let checked = 0;
      goldenCandles(g).forEach((c, i) => {
        pipe.update(c);
        const row = rows.get(i);
        if (!row) return;
        row.features.forEach((v, k) => expect(close(pipe.values[k]!, v, g.tolerance.features), `${pipe.names[k]} @${i}`).toBe(true));
        checked++;
      });
      expect(checked).toBe(g.rows.length);
      expect(g.tolerance.features).toBeLessThanOrEqual(1e-9);
    },
  );
});
