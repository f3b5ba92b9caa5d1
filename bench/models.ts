// `npm run bench:models`: the shipped 3-model ensemble through the real engine (paper exchange, in-memory
// journal), run in a process of its own so its RSS is its own. Per candle: prepare (features + 3 ONNX runs)
// → onCandle (decision, risk, order handed to the venue). Beside it in the same run, the baseline: the same
// engine and candles with a model-free strategy that trades as often. Prints figures; asserts nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildEngine } from '../src/app/kernel.ts';
import { parseConfig } from '../src/config/load.ts';
import { SimClock } from '../src/core/clock.ts';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import type { Candle, Signal } from '../src/core/types.ts';
import { PaperExchange } from '../src/exchange/paper/index.ts';
import { Journal } from '../src/journal/journal.ts';
import { loadCandles } from '../src/market/csv.ts';
import { generateCandles } from '../src/market/generator.ts';
import { CandleValidator } from '../src/market/validator.ts';
import { openModels, readEnsemble } from '../src/models/open.ts';
import { RiskEngine } from '../src/risk/engine.ts';
import { DEFAULT_LIMITS } from '../src/risk/types.ts';
import type { Strategy, StrategyContext } from '../src/strategy/types.ts';

const FILE = join(PROJECT_ROOT, '..', 'shared', 'data', 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');
const N = Number(process.argv[2] ?? 20_000);
const SYM = 'BTC/USDT';

/** Baseline: no model, an entry or exit on every candle (the decision path without inference). */
class Alternate implements Strategy {
  readonly name = 'alternate';
  readonly warmup = 0;
  onCandle(c: Candle, ctx: StrategyContext): Signal | null {
    const action = ctx.position === null ? 'enter_long' : 'exit_long';
    return { symbol: SYM, action, ts: c.ts + 60_000, price: c.close, strategy: this.name, reason: 'bench' };
  }
}

interface Run {
  /** Candle close → entry/exit order handed to the venue (µs), candles that sent one. */
  toVenue: Float64Array;
  /** Candle close → the candle fully processed (µs), every candle. */
  perCandle: Float64Array;
  orders: number;
  perSec: number;
}

async function run(candles: readonly Candle[], strategy: Strategy): Promise<Run> {
  const clock = new SimClock(candles[0]!.ts);
  const journal = Journal.memory();
  const market = {
    symbol: SYM,
    base: 'BTC',
    quote: 'USDT',
    type: 'spot' as const,
    qtyStep: 0.00001,
    priceStep: 0.01,
    minQty: 0.00001,
    minNotional: 5,
    maxLeverage: 1,
  };
  const venue = new PaperExchange({
    clock,
    marketType: 'spot',
    markets: [market],
    startingBalances: { USDT: 10_000 },
    makerFee: 0.001,
    takerFee: 0.001,
    slippageBps: 0,
  });
  const { engine } = buildEngine(parseConfig({ botId: 'sk', market: { symbols: [SYM], timeframe: '1m' } }), {
    mode: 'paper',
    clock,
    journal,
    exchange: venue,
    risk: new RiskEngine({
      ...DEFAULT_LIMITS,
      minTradeIntervalSec: 0,
      maxConsecutiveLosses: 0,
      maxTradesPer24h: 1_000_000,
      maxDailyDrawdown: 1,
    }),
    strategy: () => strategy,
    market: () => market,
    validator: () => new CandleValidator(SYM, '1m'),
    allowShort: false,
    leverage: 1,
    takerFee: 0.001,
    startingCash: 10_000,
    equityEveryMs: 3_600_000,
    persistProgress: false,
  });
  let t0 = 0;
  const toVenue: number[] = [];
  const submit = venue.submit.bind(venue);
  venue.submit = (o) => {
    if (o.purpose === 'entry' || o.purpose === 'exit') toVenue.push((performance.now() - t0) * 1000);
    submit(o);
  };
  const perCandle = new Float64Array(candles.length);
  const start = performance.now();
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i]!;
    clock.set(c.ts + 60_000);
    t0 = performance.now();
    const p = engine.prepareCandle(SYM, c);
    if (p !== undefined) await p;
    engine.onCandle(SYM, c);
    perCandle[i] = (performance.now() - t0) * 1000;
  }
  const seconds = (performance.now() - start) / 1000;
  journal.close();
  // The first few hundred candles are the JIT warming up (orders are rarer: all of them count).
  return {
    toVenue: Float64Array.from(toVenue).sort(),
    perCandle: Float64Array.from(perCandle.subarray(300)).sort(),
    orders: toVenue.length,
    perSec: candles.length / seconds,
  };
}

const q = (a: Float64Array, f: number) => a[Math.min(a.length - 1, Math.floor(f * a.length))] ?? NaN;
const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pcts = (a: Float64Array) => `p50 ${n(q(a, 0.5))} µs, p99 ${n(q(a, 0.99))} µs, max ${n(q(a, 1))} µs`;

const candles: Candle[] = existsSync(FILE)
  ? loadCandles(FILE).slice(0, N)
  : generateCandles({ count: N, seed: 1, startTs: Date.UTC(2025, 4, 20) });
const baseline = await run(candles, new Alternate());

const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
// minConfidence 0: the ensemble acts on every vote that changes its side, so many candles end in an order.
const root = join(PROJECT_ROOT, 'models');
const opened = await openModels(root, { ...readEnsemble(join(root, 'ensemble.json')), minConfidence: 0 });
const loadMs = performance.now() - t0;
const rssLoaded = process.memoryUsage().rss;
const ens = await run(candles, opened.strategy(SYM, 60_000));
const rssAfter = process.memoryUsage().rss;

const mb = (x: number) => n(x / 2 ** 20);
process.stdout.write(
  `Models: the shipped ensemble (${opened.config.members.map((m) => m.model).join(', ')}, ${opened.config.mode}, minConfidence 0) through the engine, one candle at a time\n` +
    `   ${existsSync(FILE) ? 'BTC/USDT 1m 2025' : 'generated'}: ${n(candles.length)} candles; models loaded in ${n(loadMs)} ms\n` +
    `   candle close → order handed to the venue, ${n(ens.orders)} orders: ${pcts(ens.toVenue)}   [target p99 ≤ 2,000 µs]\n` +
    `     baseline, no model (an order every candle), ${n(baseline.orders)} orders: ${pcts(baseline.toVenue)}\n` +
    `   every candle (prepare + decide): ${pcts(ens.perCandle)}; ${n(ens.perSec)} candles/s (baseline ${n(baseline.perSec)})\n` +
    `   RSS: ${mb(rss0)} MB before loading (baseline: the engine run without models), ${mb(rssLoaded)} MB with the ensemble loaded (+${mb(rssLoaded - rss0)} MB), ${mb(rssAfter)} MB after the run\n`,
);
await opened.set.close();
process.exit(0);
