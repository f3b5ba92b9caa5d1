// Position management on the real venues' APIs: the engine on the live adapter with the REAL ccxt
// against the local fake Binance and Bybit: a stop move, a partial close and a trailing stop.
import { afterEach, describe, expect, test } from 'vitest';
import { closeRigs } from '../helpers/ccxt-rig.ts';
import { until } from '../helpers/venue-time.ts';
import { manualBuy as buy, stopsOf as stops, SYM, venueEngine as setup, venueStops } from '../helpers/venue-engine.ts';

afterEach(closeRigs);

describe('position management on the ccxt venues', () => {
  test('Bybit perps: /sl moves the stop: the new one is accepted before the old one is cancelled', async () => {
    const { fake, engine, journal } = await setup('bybit', 'perp');
    const b1 = buy(engine, 0.02);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'first stop open', 8000);
    const [first] = stops(engine);
    engine.setProtection(SYM, { stopLoss: 29_700 });
    await until(
      () =>
        stops(engine).length === 1 && stops(engine)[0]!.status === 'open' && journal.getOrder(first!.clientOrderId)!.status === 'cancelled',
      'moved',
      8000,
    );
    const [second] = stops(engine);
    expect(venueStops(fake)).toEqual([`${second!.clientOrderId}:0.02@29700`]);
    const createAt = fake.requests.findIndex((r) => r.path === '/v5/order/create' && r.params['orderLinkId'] === second!.clientOrderId);
    const cancelAt = fake.requests.findIndex((r) => r.path === '/v5/order/cancel' && r.params['orderLinkId'] === first!.clientOrderId);
    expect(createAt).toBeGreaterThanOrEqual(0);
    expect(cancelAt).toBeGreaterThan(createAt);
    expect(engine.status().unprotected).toEqual([]);
  });

  test('Binance spot: a partial close sells the part and leaves one stop sized to the rest', async () => {
    const { fake, engine } = await setup('binance', 'spot');
    const b1 = buy(engine, 0.02);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'first stop open', 8000);
    const close = engine.closePosition(SYM, 'ada', 'manual', undefined, 0.005)!;
    await until(
      () => close.status === 'filled' && stops(engine).length === 1 && stops(engine)[0]!.status === 'open',
      'closed a part, stop back',
      8000,
    );
    expect(engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(0.015, 10);
    const [stop] = stops(engine);
    expect(venueStops(fake)).toEqual([`${stop!.clientOrderId}:0.015@29400`]);
    expect(engine.status().unprotected).toEqual([]);
  });

  // (USDⓈ-M trails natively: test/exchange/native-trailing.test.ts.)
  test('Binance spot: a trailing stop is a stop order the bot moves up with the highs', async () => {
    const { fake, engine } = await setup('binance', 'spot', { trailingStopPct: 0.01 });
    const b1 = buy(engine, 0.01);
    await until(() => b1.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'first stop open', 8000);
    fake.setPrice('BTCUSDT', 30_400);
    const t = engine.status().lastCandle[SYM]!.ts + 60_000;
    engine.onCandle(SYM, { ts: t, open: 30_000, high: 30_500, low: 30_000, close: 30_400, volume: 10 });
    await until(
      () => stops(engine).length === 1 && Math.abs(stops(engine)[0]!.stopPrice! - 30_195) < 0.01 && stops(engine)[0]!.status === 'open',
      'trailed',
      8000,
    );
    await until(() => venueStops(fake).length === 1, 'old one cancelled', 8000);
    expect(venueStops(fake)).toEqual([`${stops(engine)[0]!.clientOrderId}:0.01@30195`]);
  });
});
