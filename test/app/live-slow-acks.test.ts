// Slow acknowledgements (issue 7, item 2): the real Bot in live mode on the fake Binance (real ccxt),
// a fast replay driving sma-cross, and a venue that answers each order 1.5 s after taking it. While
// an order for the position is in flight the engine must not generate another entry or exit, exits
// are sized from the journal's position net of working exits, and a spot exit never sells coins the
// bot did not buy (the account holds 1 BTC that is not the bot's).
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { until } from '../helpers/venue-time.ts';
import { watchExits } from '../helpers/venue-watch.ts';

const KEY = 'slow-ack-key-000001';
const SECRET = 'slow-ack-secret-000001';
const OTHER_BTC = 1; // spot: coins on the account that the bot never bought

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function run(type: 'spot' | 'perp') {
  const dir = tempDir(`skipper-slowack-${type}-`);
  const csv = join(dir, 'candles.csv');
  await generateCsv(csv, 220, 13, { startPrice: 30_000, volatility: 0.0005 }); // the fake's price stays 30 000: stops stay below it
  const fake = await new FakeBinance({
    type,
    apiKey: KEY,
    balances: type === 'spot' ? { USDT: 10_000, BTC: OTHER_BTC } : { USDT: 10_000 },
  }).start();
  cleanup.push(() => fake.close());
  // Every order is taken at once and answered 1.5 s later.
  const path = type === 'spot' ? '/api/v3/order' : '/fapi/v1/order';
  fake.inject({ kind: 'acceptThenDelay', method: 'POST', path, ms: 1500, times: Infinity });
  const seen = watchExits(fake, OTHER_BTC);
  const h: Harness = await startBot({
    dir,
    replayFile: csv,
    waitForReplay: false,
    config: {
      mode: 'live',
      market: { type, leverage: type === 'perp' ? 2 : 1 },
      exchange: { name: 'binance', testnet: true, apiUrl: fake.url, websocket: false, pollSec: 1, recvWindowMs: 2000 },
      data: { speed: 1200 },
      strategy: { name: 'sma-cross', params: { fast: 2, slow: 3 } },
      risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0, maxDailyDrawdown: 1, maxTradesPer24h: 10_000 },
    },
    bot: { secrets: { exchangeApiKey: KEY, exchangeApiSecret: SECRET }, confirmLive: true },
  });
  cleanup.push(() => h.stop());
  await h.bot.feedsDone();
  const engine = h.bot.engine;
  // Entries and exits done; protective stops acknowledged (resting).
  const settled = (): boolean =>
    [...engine.liveOrders.values()].every((o) => (o.purpose === 'stop_loss' || o.purpose === 'take_profit') && o.status === 'open');
  await until(settled, 'orders settled', 15_000);
  return { fake, h, seen, engine };
}

describe('slow order acknowledgements (1.5 s) with a fast replay', () => {
  for (const type of ['spot', 'perp'] as const) {
    test(`${type}: one order in flight per position; no order beyond the position${type === 'spot' ? ', no coin sold the bot did not buy' : ', no flip'}; the journal ends equal to the venue`, async () => {
      const { fake, h, seen, engine } = await run(type);
      expect(seen.problems).toEqual([]);
      expect(seen.orders()).toBeGreaterThan(3); // it did trade
      const j = h.bot.journal;
      // Nothing refused by the venue (no duplicate exit bounced off reduce-only, no insufficient balance).
      expect(j.recentOrders(10_000).filter((o) => o.status === 'rejected')).toEqual([]);
      if (type === 'spot') {
        const btc = fake.book.bal('BTC');
        expect(btc.free + btc.locked).toBeGreaterThanOrEqual(OTHER_BTC - 1e-9);
        expect(engine.portfolio.positions.get('BTC/USDT')?.qty ?? 0).toBeCloseTo(btc.free + btc.locked - OTHER_BTC, 9);
      } else {
        expect(engine.portfolio.positions.get('BTC/USDT')?.qty ?? 0).toBeCloseTo(fake.book.positions.get('BTCUSDT')?.qty ?? 0, 9);
      }
      const rec = await h.bot.reconciler.run('test');
      expect(rec, rec.summary).toMatchObject({ status: 'ok', problems: [] });
      // Signals that came while an order was unanswered were refused, and journaled with why.
      const refused = j.recentDecisions(10_000).filter((d) => d.verdictRule === 'order_in_flight');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.verdictReason).toMatch(
        /^sk-\w+ \((entry|exit) (buy|sell)\) is still (new|submitted|unknown|open): no new entry or exit on BTC\/USDT/,
      );
    }, 120_000);
  }
});
