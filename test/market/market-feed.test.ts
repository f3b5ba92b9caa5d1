import ccxt from 'ccxt';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { SimClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Candle, Timeframe } from '../../src/core/types.ts';
import { loadCandles, writeCandlesCsv } from '../../src/market/csv.ts';
import { detectTimeframe, type CandleFeed } from '../../src/market/feed.ts';
import { generateCandles } from '../../src/market/generator.ts';
import { LiveFeed, type LiveFeedOptions } from '../../src/market/live-feed.ts';
import { ReplayFeed } from '../../src/market/replay-feed.ts';
import { resampleAll } from '../../src/market/resample.ts';
import type { CandleIssue } from '../../src/market/validator.ts';
import { FakeBinancePublic, defaultCandleAt, pointAtFake } from '../fakes/binance-public.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const MIN = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'skipper-feed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function drain(feed: CandleFeed, max = Infinity): Promise<Candle[][]> {
  const out: Candle[][] = [];
  for await (const b of feed.batches()) {
    out.push(b);
    if (out.length >= max) feed.stop();
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
describe('detectTimeframe', () => {
  it('takes the most common positive spacing, ignoring gaps, duplicates and odd rows', () => {
    const c = generateCandles({
      count: 300,
      seed: 1,
      timeframe: '15m',
      oddities: { gaps: [{ at: 10, length: 5 }], duplicates: [20, 21], misaligned: [30] },
    });
    expect(detectTimeframe(c)).toBe('15m');
    expect(() => detectTimeframe(c.slice(0, 1))).toThrow('at least two');
    expect(() =>
      detectTimeframe([
        { ...c[0]!, ts: 0 },
        { ...c[0]!, ts: 7 },
      ]),
    ).toThrow('7 ms');
  });
});

// ------------------------------------------------------------------------------------------------
describe('ReplayFeed', () => {
  const candles = generateCandles({ count: 10_000, seed: 21 });
  const path = join(dir, 'BTCUSDT_1m.csv');
  const ready = writeCandlesCsv(path, candles);

  it('at max speed yields the whole file in batches, then reports done', async () => {
    await ready;
    const feed = new ReplayFeed({ symbol: 'BTC/USDT', path, speed: 'max', batchSize: 4096 });
    expect(feed.timeframe).toBe('1m'); // detected
    expect(feed.name).toBe('replay:BTCUSDT_1m.csv');
    expect(feed.state().status).toBe('connecting');
    const batches = await drain(feed);
    expect(batches.map((b) => b.length)).toEqual([4096, 4096, 1808]);
    expect(batches.flat()).toEqual(candles);
    expect(feed.state()).toMatchObject({ status: 'done', lastCandleTs: candles.at(-1)!.ts });
  });

  it('at speed N yields one candle per batch and sleeps 60/N s between 1m candles', async () => {
    await ready;
    const sleeps: number[] = [];
    const clock = new SimClock(0);
    const feed = new ReplayFeed({
      symbol: 'BTC/USDT',
      path,
      timeframe: '1m',
      speed: 60,
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
      },
    });
    const batches = await drain(feed, 25);
    expect(batches).toHaveLength(25);
    expect(batches.every((b) => b.length === 1)).toBe(true);
    expect(batches.flat()).toEqual(candles.slice(0, 25));
    expect(sleeps).toEqual(Array(24).fill(1000));
    expect(feed.state().status).toBe('stopped');
  });

  it('stop() interrupts a real sleep at speed N', async () => {
    await ready;
    const feed = new ReplayFeed({ symbol: 'BTC/USDT', path, speed: 0.001 }); // 1000× slower than real time
    const t0 = performance.now();
    setTimeout(() => feed.stop(), 50);
    const got = await drain(feed);
    expect(got).toHaveLength(1);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('startAfterTs skips candles at or before it', async () => {
    await ready;
    const after = candles[7_000]!.ts;
    const feed = new ReplayFeed({ symbol: 'BTC/USDT', path, speed: 'max', startAfterTs: after });
    expect((await drain(feed)).flat()).toEqual(candles.slice(7_001));
  });

  it('resampleTo aggregates, drops rejected source rows first, and resumes on bucket boundaries', async () => {
    const odd = generateCandles({
      count: 3_000,
      seed: 4,
      startTs: Date.UTC(2024, 0, 1, 0, 2), // starts mid-bucket: the first 5m bucket is partial
      oddities: { duplicates: [100], nan: [200], gaps: [{ at: 500, length: 12 }] },
    });
    const p = join(dir, 'odd_1m.csv');
    await writeCandlesCsv(p, odd);
    const issues: CandleIssue[] = [];
    const feed = new ReplayFeed({
      symbol: 'BTC/USDT',
      path: p,
      speed: 'max',
      resampleTo: '5m',
      batchSize: 333,
      onIssue: (i) => issues.push(i),
    });
    expect(feed.timeframe).toBe('5m');
    expect(feed.sourceTimeframe).toBe('1m');
    const got = (await drain(feed)).flat();
    expect(issues.map((i) => i.kind)).toEqual(['duplicate', 'nan', 'gap', 'gap']);
    const clean = odd.filter((c, i) => !(i === 101 || Number.isNaN(c.close)));
    const expected = resampleAll(clean, '1m', '5m');
    // The last bucket of the file is dropped unless complete (a live feed would not have closed it).
    const lastComplete = resampleAll(clean, '1m', '5m', { completeOnly: true }).at(-1)!;
    expect(got).toEqual(expected.filter((b) => b.ts <= lastComplete.ts));
    expect(got[0]!.ts).toBe(Date.UTC(2024, 0, 1, 0, 0));
    // Resume after a bucket: the next one is whole, not cut at the 1m level.
    const resumed = await drain(new ReplayFeed({ symbol: 'BTC/USDT', path: p, speed: 'max', resampleTo: '5m', startAfterTs: got[10]!.ts }));
    expect(resumed.flat()).toEqual(got.slice(11));
  });

  it('explains a wrong timeframe, a missing file and an impossible resample', async () => {
    await ready;
    expect(() => new ReplayFeed({ symbol: 'BTC/USDT', path, timeframe: '5m', speed: 'max' })).toThrow(
      'holds 1m candles, but the timeframe given is 5m',
    );
    expect(() => new ReplayFeed({ symbol: 'BTC/USDT', path: join(dir, 'nope.csv'), speed: 'max' })).toThrow('replay file not found');
    const p5 = join(dir, 'five.csv');
    await writeCandlesCsv(p5, generateCandles({ count: 10, seed: 1, timeframe: '5m' }));
    expect(() => new ReplayFeed({ symbol: 'BTC/USDT', path: p5, speed: 'max', resampleTo: '3m' as Timeframe })).toThrow('not a multiple');
    expect(() => new ReplayFeed({ symbol: 'BTC/USDT', path, speed: 0 })).toThrow('positive');
  });

  const REAL = `${SHARED_DATA}/binance_spot_BTCUSDT_5m_2019-11-15_2020-03-12.csv`;
  it.skipIf(!existsSync(REAL))('replays a real 5m file as 1h like resampleAll over validated candles', async () => {
    const feed = new ReplayFeed({ symbol: 'BTC/USDT', path: REAL, speed: 'max', resampleTo: '1h' });
    const got = (await drain(feed)).flat();
    const all = loadCandles(REAL);
    const ref = resampleAll(all, '5m', '1h'); // the Resampler drops the duplicate row too
    expect(got).toEqual(ref.slice(0, got.length));
    expect(got.length).toBeGreaterThan(2700);
  });
});

// ------------------------------------------------------------------------------------------------
describe('LiveFeed against a local fake Binance', () => {
  let fake: FakeBinancePublic | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  interface Rig {
    feed: LiveFeed;
    clock: SimClock;
    alerts: MemoryAlertSink;
    sleeps: number[];
    fake: FakeBinancePublic;
  }

  /** A feed on a sim clock; `onSleep(n)` runs after the n-th sleep (1-based), once the clock moved. */
  async function rig(
    opts: Partial<LiveFeedOptions> & { start?: number; onSleep?: (n: number, r: Rig) => unknown; pro?: boolean } = {},
  ): Promise<Rig> {
    const clock = new SimClock(opts.start ?? Date.UTC(2024, 0, 1, 12, 0, 30));
    fake = await new FakeBinancePublic({ clock }).start();
    const ex = opts.pro ? new ccxt.pro.binance({ enableRateLimit: false }) : new ccxt.binance({ enableRateLimit: false });
    pointAtFake(ex, fake.url, fake.wsUrl);
    // ccxt refuses plain ws:// URLs until its http agent is loaded.
    if (opts.pro) await ex.loadHttpProxyAgent();
    const alerts = new MemoryAlertSink();
    const sleeps: number[] = [];
    const r: Rig = { clock, alerts, sleeps, fake, feed: undefined as unknown as LiveFeed };
    r.feed = new LiveFeed({
      exchangeId: 'binance',
      marketType: 'spot',
      symbol: 'BTC/USDT',
      timeframe: '1m',
      clock,
      alerts,
      logger: silentLogger(),
      exchange: ex,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
        await opts.onSleep?.(sleeps.length, r);
      },
      ...opts,
    });
    return r;
  }

  const final = (ts: number): Candle => defaultCandleAt(ts, '1m');
  const T = (h: number, m: number): number => Date.UTC(2024, 0, 1, h, m);

  it('fetches warmup history, then emits only closed candles, once each, after each close', async () => {
    const r = await rig({ warmup: 5 });
    expect(r.feed.state().status).toBe('connecting');
    expect(r.feed.name).toBe('binance:BTC/USDT:1m');
    const batches = await drain(r.feed, 4);
    expect(batches.map((b) => b.map((c) => c.ts))).toEqual([
      [T(11, 55), T(11, 56), T(11, 57), T(11, 58), T(11, 59)],
      [T(12, 0)],
      [T(12, 1)],
      [T(12, 2)],
    ]);
    // Final values, never the in-progress version the fake serves for the current minute.
    for (const c of batches.flat()) expect(c).toEqual(final(c.ts));
    expect(r.feed.warmupUntilTs).toBe(T(11, 59));
    // Woken 1.5 s after each close (12:01:01.5, 12:02:01.5, ...).
    expect(r.sleeps.slice(0, 3)).toEqual([31_500, 60_000, 60_000]);
    // Spot only: one exchangeInfo call, no futures endpoints.
    expect(r.fake.requests.map((q) => q.path).filter((p) => !p.startsWith('/api/v3/klines'))).toEqual(['/api/v3/exchangeInfo']);
    expect(r.fake.requests.every((q) => q.path.startsWith('/api/v3/'))).toBe(true);
    expect(r.alerts.alerts).toEqual([]);
    expect(r.feed.state().status).toBe('stopped');
  });

  it('never re-emits a candle, even when the exchange ignores startTime and polls are frequent', async () => {
    const r = await rig({ warmup: 3, pollMs: 20_000 });
    r.fake.ignoreStartTime = true;
    const batches = await drain(r.feed, 8);
    const ts = batches.flat().map((c) => c.ts);
    expect(ts).toEqual([...new Set(ts)]);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(MIN);
    for (const c of batches.flat()) expect(c).toEqual(final(c.ts));
    expect(r.sleeps.every((s) => s === 20_000)).toBe(true);
    expect(ts.at(-1)! + MIN).toBeLessThanOrEqual(r.clock.now());
  });

  it('pages through a long warmup', async () => {
    const r = await rig({ warmup: 2500 });
    const [first] = await drain(r.feed, 1);
    expect(first).toHaveLength(2500);
    expect(first![0]!.ts).toBe(T(12, 0) - 2500 * MIN);
    expect(r.fake.count('/api/v3/klines')).toBe(3);
  });

  it('connection refused: status down, one feed_down alert, exponential backoff, then feed_up and backfill', async () => {
    const r = await rig({
      warmup: 2,
      onSleep: async (n, rr) => {
        if (n === 1) await rr.fake.down(); // after the first live wait
        if (n === 9) await rr.fake.up();
      },
    });
    const states: string[] = [];
    const batches: Candle[][] = [];
    for await (const b of r.feed.batches()) {
      batches.push(b);
      states.push(r.feed.state().status);
      if (batches.length === 3) r.feed.stop();
    }
    // Sleep 1 is the normal wait; 2..9 are retries: 1, 2, 4, 8, 16, 32, 60, 60 s.
    expect(r.sleeps.slice(1, 9)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    const downs = r.alerts.alerts.filter((a) => a.type === 'feed_down');
    expect(downs).toHaveLength(1);
    expect(downs[0]).toMatchObject({ severity: 'warning' });
    // The first failure hits the keep-alive socket the fake just closed; later ones are refused.
    expect(downs[0]!.message).toMatch(/connection (refused|dropped)/);
    expect(downs[0]!.message).toContain('keeps retrying with backoff');
    expect(downs[0]!.message).toContain('npm start -- --replay FILE');
    const ups = r.alerts.alerts.filter((a) => a.type === 'feed_up');
    expect(ups).toHaveLength(1);
    expect(r.alerts.alerts.map((a) => a.type)).toEqual(['feed_down', 'feed_up']);
    // After recovery, every candle missed during the outage arrives in one batch, in order, no gaps.
    const ts = batches.flat().map((c) => c.ts);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(MIN);
    // Down from 12:01:01.5 for 183 s of retries: 12:00–12:03 arrive together, then one per minute.
    expect(batches.map((b) => b.length)).toEqual([2, 4, 1]);
    expect(batches[1]![0]!.ts).toBe(T(12, 0));
    expect(states.at(-1)).toBe('up');
  });

  it('reports down in plain words while the outage lasts', async () => {
    let seen: ReturnType<LiveFeed['state']> | undefined;
    const r = await rig({
      onSleep: async (n, rr) => {
        if (n === 1) await rr.fake.down();
        if (n === 3) seen = rr.feed.state();
        if (n === 4) rr.feed.stop();
      },
    });
    await drain(r.feed);
    expect(seen).toMatchObject({ status: 'down' });
    expect(seen!.detail).toMatch(/^binance unreachable: connection refused; retry 2 in 2 s$/);
  });

  it('HTTP 503: treated as an outage with backoff and recovery', async () => {
    const r = await rig({
      onSleep: (n, rr) => {
        if (n === 1) rr.fake.fail = { status: 503, body: '<html>503 Service Unavailable</html>' };
        if (n === 4) rr.fake.fail = null;
      },
    });
    const batches = await drain(r.feed, 2);
    expect(r.sleeps.slice(1, 4)).toEqual([1000, 2000, 4000]);
    expect(r.alerts.alerts.map((a) => [a.type, a.severity])).toEqual([
      ['feed_down', 'warning'],
      ['feed_up', 'info'],
    ]);
    expect(r.alerts.alerts[0]!.message).toContain('exchange not available (HTTP 503)');
    expect(batches.flat().length).toBeGreaterThanOrEqual(2);
  });

  it('HTTP 429 with Retry-After: waits at least that long', async () => {
    const r = await rig({
      onSleep: (n, rr) => {
        if (n === 1) rr.fake.fail = { status: 429, headers: { 'Retry-After': '7' }, body: '{"code":-1003,"msg":"Too many requests."}' };
        if (n === 3) rr.fake.fail = null;
      },
    });
    await drain(r.feed, 1);
    expect(r.sleeps.slice(1, 3)).toEqual([7000, 7000]);
    expect(r.alerts.alerts[0]!.message).toContain('rate-limited (HTTP 429)');
    expect(r.alerts.alerts.map((a) => a.type)).toEqual(['feed_down', 'feed_up']);
  });

  it('request timeout: treated as an outage', async () => {
    const r = await rig({
      onSleep: (n, rr) => {
        if (n === 1) rr.fake.delayMs = 1000;
        if (n === 2) rr.fake.delayMs = 0;
      },
    });
    r.feed.exchange.timeout = 100;
    await drain(r.feed, 1);
    expect(r.alerts.alerts[0]!.message).toContain('request timed out');
    expect(r.alerts.alerts.map((a) => a.type)).toEqual(['feed_down', 'feed_up']);
  });

  it('an unknown symbol is not retried blindly: critical alert, slow retries, recovers when listed', async () => {
    let detail = '';
    const r = await rig({
      symbol: 'DOGE/USDT',
      onSleep: (n, rr) => {
        if (n === 2) detail = rr.feed.state().detail;
        if (n === 3) rr.fake.symbols.push({ symbol: 'DOGEUSDT', base: 'DOGE', quote: 'USDT' });
      },
    });
    await drain(r.feed, 1);
    expect(r.sleeps.slice(0, 3)).toEqual([60_000, 60_000, 60_000]);
    expect(detail).toContain('binance refused the request for DOGE/USDT 1m: bad symbol');
    expect(r.alerts.alerts.map((a) => [a.type, a.severity])).toEqual([
      ['feed_down', 'critical'],
      ['feed_up', 'info'],
    ]);
    // Markets were reloaded after the failure (ccxt caches a failed load otherwise).
    expect(r.fake.count('/api/v3/exchangeInfo')).toBe(4);
  });

  it('falls back to polling when the websocket cannot connect', async () => {
    const r = await rig({ pro: true, useWebsocket: true, warmup: 2 }); // fake.ws is off: upgrades are refused
    expect(r.feed.transport).toBe('websocket');
    const batches = await drain(r.feed, 3);
    expect(r.feed.transport).toBe('polling');
    expect(r.fake.requests.some((q) => q.method === 'WS')).toBe(true);
    expect(batches.map((b) => b.length)).toEqual([2, 1, 1]);
    for (const c of batches.flat()) expect(c).toEqual(final(c.ts));
    expect(r.alerts.alerts).toEqual([]);
  });

  it('websocket: a candle is emitted once a later one appears; skipped candles are backfilled over REST', async () => {
    const r = await rig({ pro: true, useWebsocket: true, warmup: 2 });
    r.fake.ws = true;
    const it = r.feed.batches();
    expect((await it.next()).value!.map((c: Candle) => c.ts)).toEqual([T(11, 58), T(11, 59)]);
    const next = it.next();
    await r.fake.subscribed();
    expect(r.fake.subscriptions).toEqual(['btcusdt@kline_1m']);
    expect(r.feed.transport).toBe('websocket');
    const partial = (ts: number): Candle => ({ ...final(ts), close: final(ts).open, volume: 1 });
    r.fake.pushKline('BTCUSDT', '1m', partial(T(12, 0)), false);
    r.clock.set(T(12, 1));
    r.fake.pushKline('BTCUSDT', '1m', final(T(12, 0)), true);
    r.fake.pushKline('BTCUSDT', '1m', partial(T(12, 1)), false);
    expect((await next).value).toEqual([final(T(12, 0))]);
    // The stream jumps from 12:01 to 12:03 (say, a reconnect): 12:02 comes from REST.
    r.clock.set(T(12, 4) + 500);
    const later = it.next();
    r.fake.pushKline('BTCUSDT', '1m', final(T(12, 1)), true);
    r.fake.pushKline('BTCUSDT', '1m', final(T(12, 3)), true);
    r.fake.pushKline('BTCUSDT', '1m', partial(T(12, 4)), false);
    const got: Candle[] = [...(await later).value!];
    while (got.at(-1)!.ts < T(12, 3)) got.push(...(await it.next()).value!);
    expect(got).toEqual([final(T(12, 1)), final(T(12, 2)), final(T(12, 3))]);
    r.feed.stop();
    expect((await it.next()).done).toBe(true);
    // The exchange instance is the test's, so the feed only unsubscribes its stream.
    expect(r.fake.unsubscriptions).toEqual(['btcusdt@kline_1m']);
    expect(r.alerts.alerts).toEqual([]);
  });

  it('stop() ends batches() during a long real backoff wait', async () => {
    const clock = new SimClock(Date.UTC(2024, 0, 1, 12, 0, 30));
    fake = await new FakeBinancePublic({ clock }).start();
    const ex = new ccxt.binance({ enableRateLimit: false });
    pointAtFake(ex, fake.url);
    await fake.down();
    const feed = new LiveFeed({
      exchangeId: 'binance',
      marketType: 'spot',
      symbol: 'BTC/USDT',
      timeframe: '1m',
      clock,
      alerts: new MemoryAlertSink(),
      logger: silentLogger(),
      exchange: ex,
      backoff: { initialMs: 600_000 },
    });
    const done = drain(feed);
    while (feed.state().status !== 'down') await new Promise((res) => setTimeout(res, 10));
    const t0 = performance.now();
    feed.stop();
    expect(await done).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(feed.state().status).toBe('stopped');
  });

  it('limits loadMarkets to the market type (perp → linear, symbol gets :USDT)', () => {
    const clock = new SimClock(0);
    const base = {
      exchangeId: 'binance' as const,
      symbol: 'BTC/USDT',
      timeframe: '1m' as const,
      clock,
      alerts: new MemoryAlertSink(),
      logger: silentLogger(),
    };
    const spot = new LiveFeed({ ...base, marketType: 'spot' });
    expect(spot.exchange.options['fetchMarkets']).toMatchObject({ types: ['spot'] });
    const perp = new LiveFeed({ ...base, marketType: 'perp' });
    expect(perp.exchange.options['fetchMarkets']).toMatchObject({ types: ['linear'] });
    expect(perp.ccxtSymbol).toBe('BTC/USDT:USDT');
    expect(perp.symbol).toBe('BTC/USDT');
    const bybit = new LiveFeed({ ...base, exchangeId: 'bybit', marketType: 'spot', useWebsocket: true });
    expect(bybit.exchange.options['fetchMarkets']).toMatchObject({ types: ['spot'] });
    expect(bybit.exchange.has['watchOHLCV']).toBe(true);
  });
});
