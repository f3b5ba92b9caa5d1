// A venue answer with an impossible trade (a negative quantity, a zero price) books nothing: the
// journal keeps what it had and the trader hears of it once. A fee that is not a number books 0.
import { afterEach, describe, expect, test } from 'vitest';
import { closeRigs } from '../helpers/ccxt-rig.ts';
import { manualBuy, venueEngine } from '../helpers/venue-engine.ts';

afterEach(closeRigs);

type Handler = (r: { method: string; path: string }) => Promise<{ status: number; body: unknown }>;

/** Rewrites the trades in the fake Binance's answers (its order answer's fills and /myTrades). */
function rewriteTrades(fake: unknown, edit: (t: Record<string, unknown>) => void): void {
  const http = (fake as { http: { handler: Handler } }).http;
  const orig = http.handler.bind(http);
  http.handler = async (r) => {
    const out = await orig(r);
    if (r.path === '/api/v3/myTrades' && Array.isArray(out.body)) for (const t of out.body as Array<Record<string, unknown>>) edit(t);
    if (r.path === '/api/v3/order' && r.method === 'POST')
      for (const t of (out.body as { fills?: Array<Record<string, unknown>> }).fills ?? []) edit(t);
    return out;
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('impossible trades in venue answers', () => {
  test.each([
    ['a negative quantity', { qty: '-0.01' }],
    ['a zero price', { price: '0' }],
  ])('%s: nothing booked, one critical alert', async (_, bad) => {
    const { fake, engine, journal, alerts } = await venueEngine('binance', 'spot');
    rewriteTrades(fake, (t) => Object.assign(t, bad));
    manualBuy(engine, 0.01);
    await wait(2500); // several polls of the order and the trades
    expect(journal.fills()).toEqual([]);
    expect(engine.portfolio.positions.size).toBe(0);
    expect(engine.portfolio.cash).toBe(10_000);
    const said = alerts.alerts.filter((a) => a.title === 'Binance: impossible trade reported');
    expect(said).toHaveLength(1);
    expect(said[0]!.message).toMatch(/: not booked\. The journal keeps what it had/);
  });

  test('a fee that is not a number: the trade is booked with fee 0', async () => {
    const { fake, engine, journal } = await venueEngine('binance', 'spot');
    rewriteTrades(fake, (t) => (t['commission'] = 'NaN'));
    manualBuy(engine, 0.01);
    for (let i = 0; i < 40 && journal.fills().length === 0; i++) await wait(50);
    expect(journal.fills()).toEqual([expect.objectContaining({ qty: 0.01, price: 30_000, fee: 0 })]);
    expect(engine.portfolio.positions.get('BTC/USDT')?.qty).toBe(0.01);
  });
});
