// ns per streaming update: technicalindicators (`nextValue`), trading-signals (`add`), ours (src/strategy/indicators.ts);
// then ns per onCandle for each built-in strategy (the engine budget is ~100–200 ns per candle, all included).
// Run: node --import tsx bench/indicators.ts [updates]
import * as TI from 'technicalindicators';
import * as TS from 'trading-signals';
import { PerformanceObserver } from 'node:perf_hooks';
import type { Candle, PositionSide } from '../src/core/types.ts';
import { Atr, Bollinger, Ema, Macd, Rsi, Sma } from '../src/strategy/indicators.ts';
import { listStrategies, createStrategy } from '../src/strategy/registry.ts';

const N = Number(process.argv[2] ?? 1_000_000);

// Seeded random walk (mulberry32) with 1m-candle-like highs/lows.
function series(n: number, seed: number): { close: Float64Array; high: Float64Array; low: Float64Array } {
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const close = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  let p = 30_000;
  for (let i = 0; i < n; i++) {
    p *= 1 + (rnd() - 0.5) * 0.004;
    close[i] = Math.round(p * 100) / 100;
    high[i] = close[i]! * (1 + rnd() * 0.001);
    low[i] = close[i]! * (1 - rnd() * 0.001);
  }
  return { close, high, low };
}

const { close, high, low } = series(N, 42);
const candles: Candle[] = Array.from({ length: N }, (_, i) => ({
  ts: 1_700_000_000_000 + i * 60_000,
  open: i === 0 ? close[0]! : close[i - 1]!,
  high: high[i]!,
  low: low[i]!,
  close: close[i]!,
  volume: 1,
}));
let sink = 0; // keeps results observable so nothing is optimised away

/** Feeds every close (or candle) to a fresh indicator; best of 3 runs after a warm-up run. */
function time(make: () => (i: number) => unknown): number {
  let best = Infinity;
  for (let rep = 0; rep < 4; rep++) {
    const step = make();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const r = step(i);
      if (r === 1.2345) sink++;
    }
    const ns = ((performance.now() - t0) * 1e6) / N;
    if (rep > 0 && ns < best) best = ns; // rep 0 = warm-up
  }
  return best;
}

type Row = [
  name: string,
  ti: (() => (i: number) => unknown) | null,
  ts: (() => (i: number) => unknown) | null,
  ours: () => (i: number) => unknown,
];

const rows: Row[] = [
  [
    'SMA(30)',
    () => {
      const x = new TI.SMA({ period: 30, values: [] });
      return (i) => x.nextValue(close[i]!);
    },
    () => {
      const x = new TS.SMA(30);
      return (i) => x.add(close[i]!);
    },
    () => {
      const x = new Sma(30);
      return (i) => x.update(close[i]!);
    },
  ],
  [
    'SMA(200)',
    () => {
      const x = new TI.SMA({ period: 200, values: [] });
      return (i) => x.nextValue(close[i]!);
    },
    () => {
      const x = new TS.SMA(200);
      return (i) => x.add(close[i]!);
    },
    () => {
      const x = new Sma(200);
      return (i) => x.update(close[i]!);
    },
  ],
  [
    'EMA(26)',
    () => {
      const x = new TI.EMA({ period: 26, values: [] });
      return (i) => x.nextValue(close[i]!);
    },
    () => {
      const x = new TS.EMA(26);
      return (i) => x.add(close[i]!);
    },
    () => {
      const x = new Ema(26);
      return (i) => x.update(close[i]!);
    },
  ],
  [
    'RSI(14)',
    () => {
      const x = new TI.RSI({ period: 14, values: [] });
      return (i) => x.nextValue(close[i]!);
    },
    () => {
      const x = new TS.RSI(14);
      return (i) => x.add(close[i]!);
    },
    () => {
      const x = new Rsi(14);
      return (i) => x.update(close[i]!);
    },
  ],
  [
    'Bollinger(20,2)',
    () => {
      const x = new TI.BollingerBands({ period: 20, stdDev: 2, values: [] });
      return (i) => x.nextValue(close[i]!);
    },
    () => {
      const x = new TS.BollingerBands(20, 2);
      return (i) => x.add(close[i]!);
    },
    () => {
      const x = new Bollinger(20, 2);
      return (i) => x.update(close[i]!) + x.lower;
    },
  ],
  [
    'MACD(12,26,9)',
    () => {
      const x = new TI.MACD({
        values: [],
        fastPeriod: 12,
        slowPeriod: 26,
        signalPeriod: 9,
        SimpleMAOscillator: false,
        SimpleMASignal: false,
      });
      return (i) => x.nextValue(close[i]!);
    },
    () => {
      const x = new TS.MACD(new TS.EMA(12), new TS.EMA(26), new TS.EMA(9));
      return (i) => x.add(close[i]!);
    },
    () => {
      const x = new Macd(12, 26, 9);
      return (i) => x.update(close[i]!) + x.histogram;
    },
  ],
  [
    'ATR(14)',
    () => {
      const x = new TI.ATR({ high: [], low: [], close: [], period: 14 });
      return (i) => x.nextValue(candles[i]!);
    },
    () => {
      const x = new TS.ATR(14);
      return (i) => x.add(candles[i]!);
    },
    () => {
      const x = new Atr(14);
      return (i) => x.update(candles[i]!);
    },
  ],
];

const fmt = (ns: number): string => (ns < 10 ? ns.toFixed(1) : ns.toFixed(0)).padStart(8);
console.log(`ns/update over ${N.toLocaleString('en-US')} updates (best of 3, after warm-up), node ${process.version}`);
console.log(`${'indicator'.padEnd(16)}${'tech.ind.'.padStart(10)}${'trad.sig.'.padStart(10)}${'ours'.padStart(10)}`);
for (const [name, ti, ts, ours] of rows) {
  const a = ti ? fmt(time(ti)) : '     n/a';
  const b = ts ? fmt(time(ts)) : '     n/a';
  console.log(`${name.padEnd(16)}  ${a}  ${b}  ${fmt(time(ours))}`);
}

// Strategies. "signals": ctx follows the signals (shorts allowed); "quiet": pending = true while flat, so no
// signal can fire: the pure no-signal path, where minor GCs would mean onCandle allocates.
let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20)); // lets the observer report

type Ctx = { symbol: string; position: PositionSide | null; pending: boolean; allowShort: boolean };
function pass(name: string, atrStop: number, quiet: boolean): { ns: number; signals: number } {
  const strat = createStrategy(name, 'BTCUSDT', { timeframeMs: 60_000, atrStop });
  const ctx: Ctx = { symbol: 'BTCUSDT', position: null, pending: quiet, allowShort: true };
  let signals = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const sig = strat.onCandle(candles[i]!, ctx);
    if (sig !== null) {
      signals++;
      ctx.position = sig.action === 'enter_long' ? 'long' : sig.action === 'enter_short' ? 'short' : null;
    }
  }
  return { ns: ((performance.now() - t0) * 1e6) / N, signals };
}

console.log(`\nns/onCandle over ${N.toLocaleString('en-US')} candles (best of 3, after warm-up)`);
console.log(`${'strategy'.padEnd(24)}${'signals'.padStart(8)}${'quiet'.padStart(10)}  minor GCs (quiet)   signals/run`);
for (const { name } of listStrategies()) {
  for (const atrStop of [0, 2]) {
    let best = Infinity;
    let bestQuiet = Infinity;
    let signals = 0;
    let quietGcs = 0;
    for (let rep = 0; rep < 4; rep++) {
      const r = pass(name, atrStop, false);
      signals = r.signals;
      await settle();
      gcs = 0;
      const q = pass(name, atrStop, true);
      await settle();
      if (rep > 0) {
        best = Math.min(best, r.ns);
        bestQuiet = Math.min(bestQuiet, q.ns);
        quietGcs += gcs;
      }
    }
    console.log(
      `${(name + (atrStop ? ' +atrStop' : '')).padEnd(24)}${fmt(best)}  ${fmt(bestQuiet)}  ${String(quietGcs).padStart(17)}   ${signals}`,
    );
  }
}
if (sink < 0) console.log(sink);
