// Protection of manual orders and adds on the real venues' APIs: the engine on the live adapter with the
// REAL ccxt against the local fake Binance (spot) and fake Bybit (linear perps). A manual buy gets its
// stop once it fills; an add replaces it with one stop for the whole position (spot: the old one is
// cancelled before the new one goes out, since it holds the coins; perps: the new one is accepted
// first); a stop the venue refuses is a critical alert and the position shows as unprotected.
import { afterEach, describe, expect, test } from 'vitest';
import { closeRigs } from '../helpers/ccxt-rig.ts';
import { until } from '../helpers/venue-time.ts';
import { manualBuy as buy, stopsOf as stops, SYM, venueEngine as setup, venueStops } from '../helpers/venue-engine.ts';

afterEach(closeRigs);

describe('protection on the ccxt venues', () => {
  test('Binance spot: a manual buy gets its stop; an add cancels the old stop first, then covers the whole position', async () => {
    const { fake, engine, journal } = await setup('binance', 'spot');
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'first stop open', 8000);
    const [first] = stops(engine);
    expect(venueStops(fake)).toEqual([`${first!.clientOrderId}:0.01@29400`]);
    expect(engine.status().unprotected).toEqual([]);

    const b2 = buy(engine, 0.01);
    await until(() => b2.status === 'filled' && stops(engine).length === 1 && stops(engine)[0]!.status === 'open', 'replaced', 8000);
    const [second] = stops(engine);
    expect(second!.clientOrderId).not.toBe(first!.clientOrderId);
    expect(venueStops(fake)).toEqual([`${second!.clientOrderId}:0.02@29400`]);
    expect(journal.getOrder(first!.clientOrderId)!.status).toBe('cancelled');
    // The old stop held the coins: it was cancelled before the new one was sent.
    const cancelAt = fake.requests.findIndex((r) => r.method === 'DELETE' && r.params['origClientOrderId'] === first!.clientOrderId);
    const postAt = fake.requests.findIndex((r) => r.method === 'POST' && r.params['newClientOrderId'] === second!.clientOrderId);
    expect(cancelAt).toBeGreaterThanOrEqual(0);
    expect(postAt).toBeGreaterThan(cancelAt);
    expect(engine.status().unprotected).toEqual([]);
  });

  test('Bybit perps: the add’s stop is accepted before the old one is cancelled; a refused stop is critical and shown as unprotected', async () => {
    const { fake, engine, alerts } = await setup('bybit', 'perp');
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'first stop open', 8000);
    const [first] = stops(engine);
    const b2 = buy(engine, 0.01);
    await until(
      () => b2.status === 'filled' && stops(engine).length === 1 && stops(engine)[0]!.clientOrderId !== first!.clientOrderId,
      'replaced',
      8000,
    );
    const [second] = stops(engine);
    await until(() => second!.status === 'open', 'second open');
    expect(venueStops(fake)).toEqual([`${second!.clientOrderId}:0.02@29400`]);
    const createAt = fake.requests.findIndex((r) => r.path === '/v5/order/create' && r.params['orderLinkId'] === second!.clientOrderId);
    const cancelAt = fake.requests.findIndex((r) => r.path === '/v5/order/cancel' && r.params['orderLinkId'] === first!.clientOrderId);
    expect(cancelAt).toBeGreaterThan(createAt);

    // The venue refuses the next replacement: the old stop stays, and the trader hears of it.
    fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      match: (p) => p['triggerPrice'] !== undefined,
      body: {
        retCode: 110092,
        retMsg: 'expect Falling, but trigger_price[29400] >= current[29300]',
        result: {},
        retExtInfo: {},
        time: Date.now(),
      },
    });
    const b3 = buy(engine, 0.01);
    await until(() => alerts.alerts.some((a) => a.severity === 'critical'), 'critical alert', 8000);
    expect(b3.status).toBe('filled');
    const crit = alerts.alerts.find((a) => a.severity === 'critical')!;
    expect(crit.title).toBe('BTC/USDT position UNPROTECTED');
    expect(venueStops(fake)).toEqual([`${second!.clientOrderId}:0.02@29400`]);
    expect(engine.status().unprotected).toEqual([
      { symbol: SYM, detail: expect.stringMatching(/^stop-loss covers 0\.02 of 0\.03: stop-loss sk-\S+ refused by bybit: expect Falling/) },
    ]);
  });

  test('Binance USDⓈ-M: a manual buy and an add end with one stop (an algo order) for the whole position', async () => {
    const { fake, engine, journal } = await setup('binance', 'perp');
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'first stop open', 8000);
    const [first] = stops(engine);
    const b2 = buy(engine, 0.01);
    await until(
      () => b2.status === 'filled' && stops(engine).length === 1 && stops(engine)[0]!.clientOrderId !== first!.clientOrderId,
      'replaced',
      8000,
    );
    const [second] = stops(engine);
    await until(() => second!.status === 'open' && journal.getOrder(first!.clientOrderId)!.status === 'cancelled', 'settled', 8000);
    expect(venueStops(fake)).toEqual([`${second!.clientOrderId}:0.02@29400`]);
    expect(engine.status().unprotected).toEqual([]);
  });
});
