// Micro-bench of the paper exchange: `node --import tsx bench/paper.ts`.
// Prints ns per processCandle (on cache-resident candles) with nothing working, with a resting SL/TP pair, µs per fill, and
// candles/s of a backtest-like loop (one market order every 25 candles).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SimClock } from '../src/core/clock.ts';
import type { Candle, Order } from '../src/core/types.ts';
import { paperVenue } from '../src/app/venues.ts';
import { parseConfig } from '../src/config/load.ts';
import type { PaperExchange } from '../src/exchange/paper/index.ts';
import { Journal } from '../src/journal/journal.ts';
import { makeOrder } from '../test/helpers/orders.ts';

const SYM = 'BTC/USDT';
const MIN = 60_000;

function candles(n: number): Candle[] {
  const out: Candle[] = new Array(n);
  let p = 100;
  for (let i = 0; i < n; i++) {
    const open = p;
    p = Math.max(50, p * (1 + (Math.sin(i * 0.37) + Math.cos(i * 0.011)) * 0.002));
    out[i] = { ts: i * MIN, open, high: Math.max(open, p) * 1.001, low: Math.min(open, p) * 0.999, close: p, volume: 1_000 };
  }
  return out;
}

const config = parseConfig({
  market: { symbols: [SYM], type: 'spot' },
  exchange: {
    paper: {
      startingBalance: { USDT: 1e12 },
      makerFee: 0.001,
      takerFee: 0.001,
      slippageBps: 0,
      qtyStep: 0.00001,
      priceStep: 0.01,
      minNotional: 0,
    },
  },
});

/** The config's paper venue (the venue factory), its books in `journal` when given. */
function venue(clock: SimClock, journal?: Journal): PaperExchange {
  const ex = paperVenue(config, clock, journal);
  ex.setListener({ onFill: () => {}, onOrderUpdate: () => {} });
  return ex;
}

let seq = 0;
const order = (clock: SimClock, req: Partial<Order>): Order => makeOrder({ clientOrderId: `b${++seq}`, symbol: SYM, ...req }, clock.now());

export interface PaperBench {
  baselineNsPerCandle: number;
  idleNsPerCandle: number;
  restingNsPerCandle: number;
  usPerFill: number;
  usPerFillStored: number;
  backtestCandlesPerSec: number;
}

export function benchPaper(n = 2_000_000): PaperBench {
  const cs = candles(n);

  // 0. Baseline: the loop reading each of n distinct candles (memory traffic, not venue work).
  let sink = 0;
  let t0 = process.hrtime.bigint();
  for (let i = 10_000; i < n; i++) {
    const c = cs[i]!;
    if (c.ts > sink) sink = c.close > 0 ? c.ts : sink;
  }
  const baselineNsPerCandle = Number(process.hrtime.bigint() - t0) / (n - 10_000);

  // 1. No working orders: the call itself, on a small cache-resident pool of candles.
  const pool = cs.slice(0, 1024).map((c) => ({ ...c }));
  let clock = new SimClock(0);
  let ex = venue(clock);
  for (let i = 0; i < 10_000; i++) {
    const c = pool[i & 1023]!;
    c.ts = i * MIN;
    ex.processCandle(SYM, c); // warm-up
  }
  t0 = process.hrtime.bigint();
  for (let i = 10_000; i < n; i++) {
    const c = pool[i & 1023]!;
    c.ts = i * MIN;
    ex.processCandle(SYM, c);
  }
  const idleNsPerCandle = Number(process.hrtime.bigint() - t0) / (n - 10_000);

  // 2. A position with a far stop-loss and take-profit resting.
  clock = new SimClock(0);
  ex = venue(clock);
  ex.processCandle(SYM, cs[0]!);
  ex.submit(order(clock, { qty: 1 }));
  ex.processCandle(SYM, cs[1]!);
  ex.submit(order(clock, { side: 'sell', type: 'stop_market', stopPrice: 1, qty: 1, reduceOnly: true }));
  ex.submit(order(clock, { side: 'sell', type: 'limit', price: 1e9, qty: 1, reduceOnly: true }));
  t0 = process.hrtime.bigint();
  for (let i = 2; i < n; i++) {
    const c = pool[i & 1023]!;
    c.ts = i * MIN;
    ex.processCandle(SYM, c);
  }
  const restingNsPerCandle = Number(process.hrtime.bigint() - t0) / (n - 2);

  // 3. A fill on every candle (submit + match), memory only, then on a file journal.
  const fills = (journal: Journal | undefined, m: number): number => {
    const ck = new SimClock(0);
    const v = venue(ck, journal);
    v.processCandle(SYM, cs[0]!);
    const t = process.hrtime.bigint();
    for (let i = 1; i <= m; i++) {
      v.submit(order(ck, { side: i % 2 === 1 ? 'buy' : 'sell', qty: 1 }));
      ck.set(cs[i]!.ts + MIN);
      v.processCandle(SYM, cs[i]!);
    }
    return Number(process.hrtime.bigint() - t) / 1e3 / m;
  };
  const usPerFill = fills(undefined, 200_000);
  const dir = mkdtempSync(join(tmpdir(), 'skipper-bench-'));
  const journal = new Journal({ path: join(dir, 'j.db') });
  const usPerFillStored = fills(journal, 5_000);
  journal.close();
  rmSync(dir, { recursive: true, force: true });

  // 4. Backtest-like: a market order every 25 candles, the clock set per candle.
  clock = new SimClock(0);
  ex = venue(clock);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const c = cs[i]!;
    clock.set(c.ts + MIN);
    ex.processCandle(SYM, c);
    if (i % 25 === 0) ex.submit(order(clock, { side: (i / 25) % 2 === 0 ? 'buy' : 'sell', qty: 1 }));
  }
  const backtestCandlesPerSec = n / (Number(process.hrtime.bigint() - t0) / 1e9);

  return { baselineNsPerCandle, idleNsPerCandle, restingNsPerCandle, usPerFill, usPerFillStored, backtestCandlesPerSec };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = benchPaper();
  console.log(`paper: baseline loop reading the candles   ${r.baselineNsPerCandle.toFixed(1)} ns/candle`);
  console.log(`paper: processCandle, no working orders   ${r.idleNsPerCandle.toFixed(1)} ns/candle`);
  console.log(`paper: processCandle, SL+TP resting        ${r.restingNsPerCandle.toFixed(1)} ns/candle`);
  console.log(`paper: submit + fill (memory)              ${r.usPerFill.toFixed(2)} µs/fill`);
  console.log(`paper: submit + fill (file journal)        ${r.usPerFillStored.toFixed(2)} µs/fill`);
  console.log(`paper: venue share of a backtest (1 order/25 candles) ${(r.backtestCandlesPerSec / 1e6).toFixed(2)} M candles/s`);
}
