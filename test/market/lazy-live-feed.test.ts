import ccxt from 'ccxt';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { SimClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { LazyLiveFeed } from '../../src/market/lazy-live-feed.ts';
import type { LiveFeedOptions } from '../../src/market/live-feed.ts';
import { FakeBinancePublic, pointAtFake } from '../fakes/binance-public.ts';

describe('LazyLiveFeed: the live feed built at start-up, ccxt loaded at its first batch', () => {
  let fake: FakeBinancePublic | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const base = (clock: SimClock): LiveFeedOptions => ({
    exchangeId: 'binance',
    marketType: 'spot',
    symbol: 'BTC/USDT',
    timeframe: '1m',
    clock,
    alerts: new MemoryAlertSink(),
    logger: silentLogger(),
  });

  it('is named and connecting like the live feed before it runs, and a stop before its first batch yields nothing', async () => {
    const clock = new SimClock(Date.UTC(2024, 0, 1, 12, 0, 30));
    const feed = new LazyLiveFeed(base(clock));
    expect(feed.name).toBe('binance:BTC/USDT:1m');
    expect(feed.state()).toEqual({ status: 'connecting', detail: 'connecting to binance', since: clock.now() });
    feed.stop();
    expect(feed.state().status).toBe('stopped');
    const got = [];
    for await (const b of feed.batches()) got.push(b);
    expect(got).toEqual([]);
  });

  it('delivers the live feed’s candles and state once it runs (local fake Binance, real ccxt)', async () => {
    const clock = new SimClock(Date.UTC(2024, 0, 1, 12, 0, 30));
    fake = await new FakeBinancePublic({ clock }).start();
    const ex = new ccxt.binance({ enableRateLimit: false });
    pointAtFake(ex, fake.url);
    const feed = new LazyLiveFeed({
      ...base(clock),
      exchange: ex,
      warmup: 3,
      sleep: async (ms) => void clock.advance(ms),
    });
    const batches: number[][] = [];
    for await (const b of feed.batches()) {
      batches.push(b.map((c) => c.ts));
      if (batches.length >= 2) feed.stop();
    }
    const T = (m: number): number => Date.UTC(2024, 0, 1, 11, 57 + m);
    expect(batches).toEqual([[T(0), T(1), T(2)], [T(3)]]);
    expect(feed.state().status).toBe('stopped');
  });
});
