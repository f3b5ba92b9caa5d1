// Protection of manual orders and adds on the real venues' APIs: the engine on the live adapter with the
// REAL ccxt against the local fake Binance (spot) and fake Bybit (linear perps). A manual buy gets its
// stop once it fills; an add replaces it with one stop for the whole position (spot: the old one is
// cancelled before the new one goes out, since it holds the coins; perps: the new one is accepted
// first); a stop the venue refuses is a critical alert and the position shows as unprotected, unless the
// price has already passed it: then the position is closed at market, as the stop would have.
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
        retCode: 10001,
        retMsg: 'params error: triggerPrice',
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
      { symbol: SYM, detail: expect.stringMatching(/^stop-loss covers 0\.02 of 0\.03: stop-loss sk-\S+ refused by bybit: params error/) },
    ]);
  });

  test.each([
    ['bybit', 'perp'],
    ['binance', 'perp'],
    ['binance', 'spot'],
  ] as const)(
    '%s %s: a stop the price has already passed (the venue says it would trigger at once) closes the position at market, as a stop-loss',
    async (venue, type) => {
      const { fake, engine, alerts, journal } = await setup(venue, type);
      // The venue trades at 29,000 while the engine last saw 30,000: the stop it promises (29,400) is passed.
      fake.setPrice('BTCUSDT', 29_000);
      const b1 = buy(engine, 0.01);
      await until(() => b1.status === 'filled' && engine.portfolio.positions.size === 0, 'closed by the passed stop', 8000);
      const [trade] = journal.closedPositions();
      expect(trade).toMatchObject({ exitReason: 'stop_loss', exitPrice: 29_000 });
      const refused = journal.recentOrders(10).filter((o) => o.purpose === 'stop_loss' && o.type === 'stop_market');
      expect(refused).toEqual([
        expect.objectContaining({ status: 'rejected', reason: expect.stringMatching(/the price is already through the trigger$/) }),
      ]);
      expect(alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
      expect(alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss already passed: closing')?.message).toMatch(
        /was refused by (bybit|binance)\b.*the price is already through the trigger\. Closing the position at market as the stop would have: order sk-/,
      );
      expect(engine.status().unprotected).toEqual([]);
    },
  );

  test.each([['binance', 'spot']] as const)(
    '%s %s: a stop that fires while a resting limit exit holds part of the position: the limit is cancelled, the rest sold at market',
    async (venue, type) => {
      const { fake, engine, alerts, journal } = await setup(venue, type);
      const b1 = buy(engine, 0.02);
      await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'stop open', 8000);
      const limit = engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.01, price: 31_000 }, 'ada').order!;
      await until(
        () =>
          limit.status === 'open' && stops(engine).length === 1 && stops(engine)[0]!.qty === 0.01 && stops(engine)[0]!.status === 'open',
        'limit resting, stop for the rest',
        8000,
      );
      fake.setPrice('BTCUSDT', 29_000); // through the stop (29,400)
      await until(() => engine.portfolio.positions.size === 0, 'closed', 8000);
      expect(journal.getOrder(limit.clientOrderId)!.status).toBe('cancelled');
      // The limit held the coins (spot): it was cancelled before the close went out.
      const close = journal.recentOrders(10).find((o) => o.purpose === 'stop_exit')!;
      const at = (id: string, how: 'cancel' | 'create') =>
        fake.requests.findIndex((r) =>
          venue === 'binance'
            ? r.method === (how === 'cancel' ? 'DELETE' : 'POST') &&
              r.params[how === 'cancel' ? 'origClientOrderId' : 'newClientOrderId'] === id
            : r.path === `/v5/order/${how}` && r.params['orderLinkId'] === id,
        );
      expect(at(limit.clientOrderId, 'cancel')).toBeGreaterThanOrEqual(0);
      expect(at(close.clientOrderId, 'create')).toBeGreaterThan(at(limit.clientOrderId, 'cancel'));
      const [trade] = journal.closedPositions();
      expect(trade).toMatchObject({ exitReason: 'stop_loss' });
      expect(alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss hit: closing the rest')?.message).toMatch(
        /0\.01 is still open, held by sk-\S+ \(cancelled now\)/,
      );
      expect(alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
      expect(fake.book.working()).toEqual([]);
    },
  );

  test.each(['bybit', 'binance'] as const)(
    '%s perps: the stop stays at the venue for the whole position beside a resting limit exit, the take-profit covers the rest; the stop fires, the limits are cancelled',
    async (venue) => {
      const { fake, engine, alerts, journal } = await setup(venue, 'perp', { takeProfitPct: 0.1 });
      const tps = () => [...engine.liveOrders.values()].filter((o) => o.purpose === 'take_profit');
      const b1 = buy(engine, 0.02);
      await until(
        () => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open') && tps().some((o) => o.status === 'open'),
        'stop and take-profit open',
        8000,
      );
      const [stop] = stops(engine);
      const [tp] = tps();
      const limit = engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.01, price: 31_000 }, 'ada').order!;
      await until(
        () => limit.status === 'open' && tps().length === 1 && tps()[0]!.qty === 0.01 && tps()[0]!.status === 'open',
        'limit resting, take-profit for the rest',
        8000,
      );
      expect(journal.getOrder(tp!.clientOrderId)!.status).toBe('cancelled');
      expect(stops(engine)).toEqual([expect.objectContaining({ clientOrderId: stop!.clientOrderId, qty: 0.02, status: 'open' })]);
      expect(venueStops(fake)).toEqual([`${stop!.clientOrderId}:0.02@29400`]);
      // At no point two reduce-only limits for more than the position: the old take-profit went first.
      const created = (id: string) =>
        fake.requests.findIndex((r) =>
          venue === 'binance'
            ? r.method === 'POST' && r.params['newClientOrderId'] === id
            : r.path === '/v5/order/create' && r.params['orderLinkId'] === id,
        );
      const cancelled = fake.requests.findIndex((r) =>
        venue === 'binance'
          ? r.method === 'DELETE' && r.params['origClientOrderId'] === tp!.clientOrderId
          : r.path === '/v5/order/cancel' && r.params['orderLinkId'] === tp!.clientOrderId,
      );
      expect(created(limit.clientOrderId)).toBeGreaterThan(cancelled);
      expect(engine.status().unprotected).toEqual([]);
      fake.setPrice('BTCUSDT', 29_000); // through the stop (29,400)
      // The take-profit's cancel is answered on its own: the limit's may come back first.
      await until(
        () => engine.portfolio.positions.size === 0 && limit.status === 'cancelled' && stop!.status === 'filled' && tps().length === 0,
        'closed by the stop, limit and take-profit cancelled',
        8000,
      );
      expect(journal.closedPositions()[0]).toMatchObject({ exitReason: 'stop_loss' });
      expect(journal.recentOrders(10).some((o) => o.purpose === 'stop_exit')).toBe(false);
      expect(alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
      expect(fake.book.working()).toEqual([]);
      expect(tps()).toEqual([]);
    },
  );

  test('Binance spot: the whole position under a resting limit (its stop lifted); a candle through the stop closes it at market', async () => {
    const { fake, engine, alerts, journal } = await setup('binance', 'spot');
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'stop open', 8000);
    const limit = engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.01, price: 31_000 }, 'ada').order!;
    await until(() => limit.status === 'open' && stops(engine).length === 0, 'limit resting, stop lifted', 8000);
    fake.setPrice('BTCUSDT', 29_000);
    const t = Math.floor(Date.now() / 60_000) * 60_000;
    engine.onCandle(SYM, { ts: t, open: 29_900, high: 29_900, low: 29_000, close: 29_050, volume: 5 }); // through 29,400
    await until(() => engine.portfolio.positions.size === 0, 'closed', 8000);
    expect(journal.getOrder(limit.clientOrderId)!.status).toBe('cancelled');
    expect(journal.closedPositions()[0]).toMatchObject({ exitReason: 'stop_loss' });
    expect(alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss reached: closing')).toBeDefined();
    expect(alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
    expect(fake.book.working()).toEqual([]);
  });

  test('Binance spot with a take-profit: the stop holds the coins at the venue, the bot watches the take-profit; an add keeps the stop', async () => {
    const { fake, engine, alerts, journal } = await setup('binance', 'spot', { takeProfitPct: 0.03 });
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'stop open', 8000);
    // One order for the coins: the stop. (A take-profit beside it was refused "insufficient balance".)
    expect(fake.book.working().map((o) => o.kind)).toEqual(['stop_market']);
    expect([...engine.liveOrders.values()].filter((o) => o.purpose === 'take_profit')).toEqual([]);
    expect(engine.portfolio.positions.get(SYM)!.takeProfit).toBeCloseTo(30_900, 6);
    const b2 = buy(engine, 0.01);
    await until(() => b2.status === 'filled' && stops(engine).length === 1 && stops(engine)[0]!.status === 'open', 'stop replaced', 8000);
    expect(venueStops(fake)).toEqual([`${stops(engine)[0]!.clientOrderId}:0.02@29400`]);
    expect(fake.book.working()).toHaveLength(1);
    expect(engine.status().unprotected).toEqual([]);
    expect(alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
    // A candle reaches the take-profit: the bot closes at market (the stop makes way for it first).
    fake.setPrice('BTCUSDT', 30_950);
    const t = Math.floor(Date.now() / 60_000) * 60_000;
    engine.onCandle(SYM, { ts: t, open: 30_000, high: 31_000, low: 30_000, close: 30_950, volume: 5 });
    await until(() => engine.portfolio.positions.size === 0, 'closed', 8000);
    expect(journal.closedPositions()[0]).toMatchObject({ exitReason: 'take_profit' });
    expect(fake.book.working()).toEqual([]);
    expect(alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
  });

  test('Binance spot: a stop turned away for the rate limit (429) is placed again after the wait, not left out as refused', async () => {
    const { fake, engine, alerts } = await setup('binance', 'spot');
    fake.inject({
      kind: 'status',
      status: 429,
      headers: { 'Retry-After': '1' },
      method: 'POST',
      path: '/api/v3/order',
      match: (p) => p['type'] === 'STOP_LOSS',
      times: 1,
    });
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'stop placed again', 15_000);
    const [stop] = stops(engine);
    expect(venueStops(fake)).toEqual([`${stop!.clientOrderId}:0.01@29400`]);
    expect(alerts.alerts.filter((a) => a.title.includes('UNPROTECTED'))).toEqual([]);
    expect(alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss placed again')?.message).toMatch(
      /rate-limited by the venue \(HTTP 429\): not placed; placed again as /,
    );
    expect(engine.status().unprotected).toEqual([]);
  });

  test('Bybit perps: a stop filled at the venue between candles trips the daily drawdown halt at once; the next entry is refused', async () => {
    const { fake, engine } = await setup('bybit', 'perp', { maxDailyDrawdown: 0.001 });
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'stop open', 8000);
    fake.setPrice('BTCUSDT', 29_000); // through the stop (29,400): -6 USDT and fees, over 0.1 % of 10,000
    await until(() => engine.portfolio.positions.size === 0, 'stopped out', 8000);
    expect(engine.risk.state()).toMatchObject({ halted: true });
    const next = engine.manualOrder({ symbol: SYM, side: 'buy', qty: 0.01 }, 'ada');
    expect(next.decision).toMatchObject({ action: 'reject', rule: 'daily_drawdown_halt' });
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
