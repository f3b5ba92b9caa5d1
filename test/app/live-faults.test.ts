// Issue 7 "must show": the real `skipper run` in live mode (a child process, real ccxt) trading spot
// on the fake Binance through the fault schedule of the adapter's fault tests (a create that hangs
// after the venue took it, a 503 after accept, a create dropped before the venue, a 429) plus items
// 1–4: a failed read during start-up, slow order acknowledgements with 1 BTC on the account that is
// not the bot's, garbage account answers, and a 418 ban with Retry-After. It must end with the journal
// equal to the venue, no order beyond a position, and the process still up.
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBinance } from '../fakes/exchange/binance.ts';
import { tempDir } from '../helpers/harness.ts';
import { CHILD_KEY, spawnLiveBot, type LiveChild } from '../helpers/live-child.ts';
import { watchExits } from '../helpers/venue-watch.ts';

const OTHER_BTC = 1;
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const waitUntil = async (cond: () => boolean, what: string, ms: number, child: LiveChild): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (!child.alive()) throw new Error(`the bot exited while waiting for ${what}:\n${child.out().slice(-3000)}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${child.out().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('a live run through every fault at once', () => {
  test('spot: journal equal to the venue, no order beyond a position, the process still up', async () => {
    const dir = tempDir('skipper-faults-');
    const csv = join(dir, 'candles.csv');
    await generateCsv(csv, 400, 21, { startPrice: 30_000, volatility: 0.0005 });
    const fake = await new FakeBinance({ type: 'spot', apiKey: CHILD_KEY, balances: { USDT: 10_000, BTC: OTHER_BTC } }).start();
    cleanup.push(() => fake.close());
    const seen = watchExits(fake, OTHER_BTC);
    const order = { method: 'POST', path: '/api/v3/order' } as const;
    // Start-up: one failed read (item 1).
    fake.inject({ kind: 'status', status: 500, method: 'GET', path: '/api/v3/openOrders' });
    // The adapter's fault schedule, on the first four creates, in this order…
    fake.inject({ kind: 'acceptThenHang', ...order });
    fake.inject({ kind: 'acceptThenStatus', status: 503, ...order });
    fake.inject({ kind: 'drop', ...order });
    fake.inject({
      kind: 'status',
      status: 429,
      ...order,
      headers: { 'Retry-After': '1' },
      body: { code: -1003, msg: 'Too many requests.' },
    });
    // …then every create answered 1.5 s after the venue took it (item 2).
    fake.inject({ kind: 'acceptThenDelay', ...order, ms: 1500, times: Infinity });

    const child = spawnLiveBot({
      fake,
      dir,
      csv,
      config: {
        exchange: { reconcileEverySec: 10 },
        strategy: { name: 'sma-cross', params: { fast: 2, slow: 3 } },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0, maxConsecutiveErrors: 0, maxDailyDrawdown: 1, maxTradesPer24h: 10_000 },
      },
    });
    cleanup.push(() => child.stop());
    await child.waitFor('Type /help', 150_000);
    expect(child.out()).toMatch(/Start-up waits: Binance open orders: .*; retry 2 of 4/);

    // While it trades: garbage account answers (item 3), then a 418 ban on the trade poll (item 4).
    await waitUntil(() => fake.sentClientOrderIds().length >= 5, 'the first orders', 60_000, child);
    fake.inject({ kind: 'status', status: 200, method: 'GET', path: '/api/v3/account', body: '<html><body>Bad gateway</body></html>' });
    fake.inject({ kind: 'status', status: 200, method: 'GET', path: '/api/v3/account', body: {} });
    fake.inject({
      kind: 'status',
      status: 418,
      method: 'GET',
      path: '/api/v3/myTrades',
      headers: { 'Retry-After': '3' },
      body: { code: -1003, msg: 'Way too many requests; IP banned.' },
    });
    await child.waitFor(/Feed .* finished/, 120_000);

    // Settled: nothing in flight, every venue trade journaled, a reconciliation since then says so.
    const inFlight = () =>
      child.query<{ n: number }>("select count(*) n from orders where status in ('new', 'submitted', 'unknown')")[0]!.n;
    await waitUntil(() => inFlight() === 0, 'orders settled', 60_000, child);
    const settledAt = Date.now();
    const fills = () => child.query<{ trade_id: string }>("select trade_id from fills where venue = 'binance'").map((r) => r.trade_id);
    await waitUntil(() => fills().length === fake.book.trades.length, 'every trade journaled', 30_000, child);
    await waitUntil(
      () => child.query<{ n: number }>(`select count(*) n from reconciliations where ts > ${settledAt} and status = 'ok'`)[0]!.n > 0,
      'a reconciliation after settling that finds the journal equal to the venue',
      40_000,
      child,
    );

    expect(child.alive()).toBe(true); // the process is up
    expect(seen.problems).toEqual([]); // no order beyond a position, no coin sold the bot never bought
    expect(seen.orders()).toBeGreaterThanOrEqual(4); // it did trade (beyond the faulted creates)
    const sent = fake.sentClientOrderIds();
    expect(sent.length).toBe(new Set(sent).size); // no client order id twice
    expect(fills().sort()).toEqual(fake.book.trades.map((t) => `BTCUSDT:${t.id}`).sort());
    // The journal equals the venue.
    const account = JSON.parse(child.query<{ value: string }>("select value from runtime_state where key = 'account'")[0]!.value) as {
      startingCash: number;
    };
    const flows = child.query<{ c: number }>('select coalesce(sum(cash_delta), 0) c from fills')[0]!.c;
    const btc = child.query<{ q: number }>("select coalesce(sum(qty), 0) q from positions where status = 'open'")[0]!.q;
    const venue = (a: string) => fake.book.bal(a).free + fake.book.bal(a).locked;
    expect(account.startingCash + flows).toBeCloseTo(venue('USDT'), 6);
    expect(btc).toBeCloseTo(venue('BTC') - OTHER_BTC, 9);
    const recs = child.query<{ status: string; summary: string }>('select status, summary from reconciliations order by id');
    expect(recs.filter((r) => r.status === 'halted' || r.status === 'failed')).toEqual([]);
    // The faults did happen: the garbage answers were read again, and nothing went out inside the ban.
    expect(fake.find('/api/v3/account').filter((q) => q.outcome === 'status')).toHaveLength(2);
    const ban = fake.find('/api/v3/myTrades').find((q) => q.outcome === 'status')!;
    expect(fake.requests.filter((q) => q.ts > ban.ts + 300 && q.ts < ban.ts + 3000).map((q) => `${q.method} ${q.path}`)).toEqual([]);
    expect((await child.stop()).code).toBe(0);
  }, 300_000);
});
