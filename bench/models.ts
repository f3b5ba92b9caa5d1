// `npm run bench:models`: the shipped 3-model ensemble through the real engine (paper exchange, in-memory
// journal): per candle, prepare (features + 3 ONNX runs) → onCandle (decision, risk, order handed to the venue).
// Prints latency percentiles, throughput and RSS; asserts nothing.
import { join } from 'node:path';
import { SimClock } from '../src/core/clock.ts';
import { PROJECT_ROOT } from '../src/core/paths.ts';
import type { Candle } from '../src/core/types.ts';
import { buildEngine } from '../src/app/kernel.ts';
import { parseConfig } from '../src/config/load.ts';
import { PaperExchange } from '../src/exchange/paper/index.ts';
import { Journal } from '../src/journal/journal.ts';
import { loadCandles } from '../src/market/csv.ts';
import { generateCandles } from '../src/market/generator.ts';
import { CandleValidator } from '../src/market/validator.ts';
import { openModels } from '../src/models/open.ts';
import { RiskEngine } from '../src/risk/engine.ts';
import { DEFAULT_LIMITS } from '../src/risk/types.ts';
import { existsSync } from 'node:fs';

const FILE = join(PROJECT_ROOT, '..', 'shared', 'data', 'binance_spot_BTCUSDT_1m_2025-05-20_2025-08-18.csv');
const N = Number(process.argv[2] ?? 20_000);

const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const opened = await openModels(join(PROJECT_ROOT, 'models'));
const loadMs = performance.now() - t0;
const rssLoaded = process.memoryUsage().rss;

const candles: Candle[] = existsSync(FILE)
  ? loadCandles(FILE).slice(0, N)
  : generateCandles({ count: N, seed: 1, startTs: Date.UTC(2025, 4, 20) });
const clock = new SimClock(candles[0]!.ts);
const journal = Journal.memory();
const market = {
  symbol: 'BTC/USDT',
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
const { engine } = buildEngine(parseConfig({ botId: 'sk', market: { symbols: ['BTC/USDT'], timeframe: '1m' } }), {
  mode: 'paper',
  clock,
  journal,
  exchange: venue,
  risk: new RiskEngine({ ...DEFAULT_LIMITS, minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxTradesPer24h: 100_000 }),
  strategy: () => opened.strategy('BTC/USDT', 60_000),
  market: () => market,
  validator: () => new CandleValidator('BTC/USDT', '1m'),
  allowShort: false,
  leverage: 1,
  takerFee: 0.001,
  startingCash: 10_000,
  equityEveryMs: 3_600_000,
  persistProgress: false,
});

const lat = new Float64Array(candles.length);
const start = performance.now();
for (let i = 0; i < candles.length; i++) {
  const c = candles[i]!;
  clock.set(c.ts + 60_000);
  const a = performance.now();
  const p = engine.prepareCandle('BTC/USDT', c);
  if (p !== undefined) await p;
  engine.onCandle('BTC/USDT', c);
  lat[i] = performance.now() - a;
}
const seconds = (performance.now() - start) / 1000;
const sorted = Float64Array.from(lat.subarray(100)).sort();
const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]! * 1000;
const fills = (journal.sqlite.prepare('SELECT count(*) AS n FROM fills').get() as { n: number }).n;
const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
process.stdout.write(
  `Models: the shipped ensemble (${opened.config.members.map((m) => m.model).join(', ')}, ${opened.config.mode}) through the engine\n` +
    `   ${existsSync(FILE) ? 'BTC/USDT 1m 2025' : 'generated'}: ${n(candles.length)} candles, ${n(fills)} fills, load ${n(loadMs)} ms\n` +
    `   per candle (prepare + decide + order to the venue): p50 ${n(q(0.5))} µs, p99 ${n(q(0.99))} µs, max ${n(q(1))} µs   [target p99 ≤ 2,000 µs]\n` +
    `   per candle, one at a time: ${n(candles.length / seconds)} candles/s   [target ≥ 20,000]\n` +
    `   RSS: ${n(rss0 / 2 ** 20)} MB before, ${n(rssLoaded / 2 ** 20)} MB with the ensemble loaded, ${n(process.memoryUsage().rss / 2 ** 20)} MB after the run\n`,
);
await opened.set.close();
process.exit(0);
