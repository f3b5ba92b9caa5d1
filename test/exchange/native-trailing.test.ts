// Native venue trailing stops with the REAL ccxt against the local fakes: on Binance USDⓈ-M a trail
// hands the stop over to one TRAILING_STOP_MARKET order (journaled first, the fixed stop cancelled once
// it is accepted), the venue trails and closes once, a restart adopts the order, `/trail off` brings
// a fixed stop back; Binance spot and Bybit keep the bot-managed stop.
import { afterEach, describe, expect, test } from 'vitest';
import ordersCommand from '../../commands/orders.ts';
import trailCommand from '../../commands/trail.ts';
import type { Services } from '../../src/chat/services.ts';
import type { CommandContext } from '../../src/chat/command.ts';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Candle, Order } from '../../src/core/types.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { Reconciler } from '../../src/engine/reconcile.ts';
import { tradeId } from '../../src/engine/trades.ts';
import { RESOLVE_MARGIN_MS } from '../../src/exchange/ccxt/index.ts';
import { Journal } from '../../src/journal/journal.ts';
import type { RiskLimits } from '../../src/risk/types.ts';
import type { FakeBinance } from '../fakes/exchange/binance.ts';
import type { FakeBybit } from '../fakes/exchange/bybit.ts';
import { ccxtRig, closeRigs, RIG_RECV_MS } from '../helpers/ccxt-rig.ts';
import { idleEngine, type TestClock, until } from '../helpers/venue-time.ts';

const SYM = 'BTC/USDT';

afterEach(closeRigs);

async function boot(
  venue: 'binance' | 'bybit',
  type: 'spot' | 'perp',
  o: { limits?: Partial<RiskLimits>; journal?: Journal; clock?: TestClock; fake?: FakeBinance | FakeBybit } = {},
) {
  const rig = await ccxtRig(venue, type, {
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.fake ? { fakeInstance: o.fake as never } : {}),
  });
  const journal = o.journal ?? Journal.memory();
  const alerts = new MemoryAlertSink();
  const engine = idleEngine({
    clock: rig.clock,
    journal,
    exchange: rig.ex,
    alerts,
    marketType: type,
    leverage: 1,
    limits: { stopLossPct: 0.02, ...o.limits },
  });
  engine.setMarket(SYM, rig.ex.market(SYM));
  if (o.journal === undefined) {
    const t0 = Math.floor(rig.clock.now() / 60_000) * 60_000 - 60_000;
    engine.onCandle(SYM, { ts: t0, open: 30_000, high: 30_010, low: 29_990, close: 30_000, volume: 10 });
  }
  return { ...rig, engine, journal, alerts };
}

const stops = (e: Engine): Order[] => [...e.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
const working = (fake: FakeBinance | FakeBybit) => fake.book.working().filter((o) => o.kind === 'stop_market');

/** The next candle after the engine's last one, the venue's price moved to its close first. */
function candle(engine: Engine, fake: FakeBinance | FakeBybit, high: number, close: number): void {
  fake.setPrice('BTCUSDT', close);
  const last = engine.status().lastCandle[SYM]?.ts;
  const t = Number.isFinite(last) && last! > 0 ? last! + 60_000 : Math.floor(Date.now() / 60_000) * 60_000;
  const c: Candle = { ts: t, open: close, high, low: Math.min(close, high) - 10, close, volume: 10 };
  engine.onCandle(SYM, c);
}

/** `/trail <id> <distance>` as the dispatcher runs it after Confirm. */
async function trail(engine: Engine, journal: Journal, clock: TestClock, distance: string): Promise<string> {
  const pos = engine.portfolio.positions.get(SYM)!;
  const ctx = {
    user: { id: 'u1', name: 'ada', role: 'trader' },
    args: { trade: tradeId(pos), distance },
    raw: `${tradeId(pos)} ${distance}`,
    services: { engine, journal, clock } as unknown as Services,
  } as unknown as CommandContext;
  const r = await trailCommand.run(ctx);
  return r.text;
}

async function openLong(engine: Engine, qty: number): Promise<Order> {
  const b = engine.manualOrder({ symbol: SYM, side: 'buy', qty }, 'ada').order!;
  await until(() => b.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'entry filled, fixed stop open', 8000);
  return stops(engine)[0]!;
}

describe('native trailing stops (Binance USDⓈ-M TRAILING_STOP_MARKET)', () => {
  test('/trail places one TRAILING_STOP_MARKET, then cancels the fixed stop; the venue trails and closes once; the fill is journaled', async () => {
    const { fake, engine, journal, clock } = await boot('binance', 'perp');
    const fixed = await openLong(engine, 0.01);
    expect(fixed.trailPct).toBeUndefined();
    // At once (no candle to wait for): 1% behind the last price is tighter than the 2% stop.
    expect(await trail(engine, journal, clock, '1%')).toMatch(
      /trails its stop 1% behind its best price: Binance USDⓈ-M perps trail it natively/,
    );
    await until(
      () => stops(engine).length === 1 && stops(engine)[0]!.trailPct === 0.01 && stops(engine)[0]!.status === 'open',
      'native trailing stop open',
      8000,
    );
    await until(() => journal.getOrder(fixed.clientOrderId)!.status === 'cancelled', 'fixed stop cancelled', 8000);
    const native = stops(engine)[0]!;
    expect(journal.getOrder(native.clientOrderId)!.trailPct).toBe(0.01);
    const orders = await ordersCommand.run({ services: { engine, journal, clock } } as unknown as CommandContext);
    expect(orders.text).toMatch(
      new RegExp(`${native.clientOrderId} +BTC/USDT +sell +trailing_stop +0\\.01 +trails 1(\\.0+)?% \\(venue\\) +open +stop_loss`),
    );
    const onVenue = working(fake as FakeBinance);
    expect(onVenue.map((o) => `${o.coid}:${o.venueType}:${o.qty}`)).toEqual([`${native.clientOrderId}:TRAILING_STOP_MARKET:0.01`]);
    const create = fake.requests.findIndex(
      (r) => r.path === '/fapi/v1/algoOrder' && r.method === 'POST' && r.params['clientAlgoId'] === native.clientOrderId,
    );
    const cancel = fake.requests.findIndex((r) => r.method === 'DELETE' && r.params['clientAlgoId'] === fixed.clientOrderId);
    expect(fake.requests[create]!.params['callbackRate']).toBe('1');
    expect(cancel).toBeGreaterThan(create);
    expect(engine.status().unprotected).toEqual([]);

    // Another candle: the bot only follows the level (no new order); the venue trails by itself.
    const sent = fake.sentClientOrderIds().length;
    candle(engine, fake, 31_000, 30_950);
    fake.setPrice('BTCUSDT', 31_200); // best 31,200: the stop is at 30,888
    fake.setPrice('BTCUSDT', 30_950);
    expect(journal.count('fills')).toBe(1);
    fake.setPrice('BTCUSDT', 30_880); // falls by the callback: triggered, closed at market
    await until(() => !engine.portfolio.positions.has(SYM), 'closed by the trailing stop', 8000);
    await until(() => journal.getOrder(native.clientOrderId)!.status === 'filled', 'trailing stop filled', 8000);
    expect(fake.sentClientOrderIds().length).toBe(sent);
    const closes = fake.book.trades.filter((t) => t.side === 'SELL');
    expect(closes.map((t) => t.qty)).toEqual([0.01]);
    expect(closes[0]!.price).toBe(30_880);
    expect(journal.count('fills')).toBe(2);
    expect(fake.book.positions.get('BTCUSDT')?.qty ?? 0).toBe(0);
  });

  test('a short: the venue trails the low and buys back once the price rises by the callback', async () => {
    const { fake, engine, journal, clock } = await boot('binance', 'perp');
    const s = engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.01 }, 'ada').order!;
    await until(() => s.status === 'filled' && stops(engine).some((o) => o.status === 'open'), 'short open, fixed stop open', 8000);
    expect(await trail(engine, journal, clock, '1.5%')).toMatch(/natively from now on/);
    await until(() => stops(engine).length === 1 && stops(engine)[0]!.trailPct === 0.015 && working(fake).length === 1, 'native', 8000);
    const native = stops(engine)[0]!;
    expect(native.side).toBe('buy');
    fake.setPrice('BTCUSDT', 29_000); // stop at 29,435
    fake.setPrice('BTCUSDT', 29_400);
    expect(engine.portfolio.positions.has(SYM)).toBe(true);
    fake.setPrice('BTCUSDT', 29_450);
    await until(() => !engine.portfolio.positions.has(SYM), 'bought back by the trailing stop', 8000);
    await until(() => journal.getOrder(native.clientOrderId)!.status === 'filled', 'filled', 8000);
    expect(fake.book.trades.filter((t) => t.side === 'BUY').map((t) => [t.qty, t.price])).toEqual([[0.01, 29_450]]);
  });

  test('a restart adopts the working trailing stop without sending another; /trail off brings a fixed stop back', async () => {
    const first = await boot('binance', 'perp', { limits: { trailingStopPct: 0.01 } });
    await openLong(first.engine, 0.01);
    candle(first.engine, first.fake, 30_500, 30_400);
    await until(
      () => stops(first.engine).length === 1 && stops(first.engine)[0]!.trailPct === 0.01 && stops(first.engine)[0]!.status === 'open',
      'native',
      8000,
    );
    await until(() => working(first.fake).length === 1, 'fixed stop gone', 8000);
    const native = stops(first.engine)[0]!;
    await first.ex.close();

    const second = await boot('binance', 'perp', {
      limits: { trailingStopPct: 0.01 },
      journal: first.journal,
      clock: first.clock,
      fake: first.fake,
    });
    const reconciler = new Reconciler(second.engine, second.journal, second.ex, second.alerts, silentLogger(), second.clock, {
      inFlightGraceMs: RIG_RECV_MS + RESOLVE_MARGIN_MS,
    });
    const rep = await reconciler.run('startup');
    reconciler.stop();
    expect(rep.status).toBe('ok');
    const sent = first.fake.sentClientOrderIds().length;
    candle(second.engine, second.fake, 30_700, 30_650);
    expect(stops(second.engine).map((o) => `${o.clientOrderId}:${o.trailPct}`)).toEqual([`${native.clientOrderId}:0.01`]);
    expect(second.fake.sentClientOrderIds().length).toBe(sent);
    expect(working(second.fake).map((o) => o.coid)).toEqual([native.clientOrderId]);

    expect(await trail(second.engine, second.journal, second.clock, 'off')).toMatch(/no longer trails.*a fixed stop replaces/);
    await until(
      () =>
        stops(second.engine).length === 1 && stops(second.engine)[0]!.trailPct === undefined && stops(second.engine)[0]!.status === 'open',
      'fixed stop back',
      8000,
    );
    await until(() => second.journal.getOrder(native.clientOrderId)!.status === 'cancelled', 'trailing stop cancelled', 8000);
    const fixed = stops(second.engine)[0]!;
    // Back at the level the trail had reached on the candles (30,700 less 1%), not the entry's stop.
    expect(fixed.stopPrice).toBeCloseTo(30_393, 6);
    expect(working(second.fake).map((o) => `${o.coid}:${o.venueType}`)).toEqual([`${fixed.clientOrderId}:STOP_MARKET`]);
  });

  test('a distance outside the venue’s 0.1–10 % is refused and changes nothing', async () => {
    const { fake, engine, journal, clock } = await boot('binance', 'perp');
    await openLong(engine, 0.01);
    const before = { orders: journal.count('orders'), sent: fake.sentClientOrderIds().length };
    for (const d of ['15%', '10.5%'])
      expect(await trail(engine, journal, clock, d)).toMatch(
        /Binance USDⓈ-M perps trail stops themselves with a distance of 0\.1% to 10%: .* is outside\. Nothing changed/s,
      );
    candle(engine, fake, 30_500, 30_400);
    expect({ orders: journal.count('orders'), sent: fake.sentClientOrderIds().length }).toEqual(before);
    expect(stops(engine)[0]!.trailPct).toBeUndefined();
  });
});

describe('native trailing stops (Bybit linear: the position’s trailingStop attribute)', () => {
  test('/trail sets the position’s trailingStop (a distance), then cancels the fixed stop; the venue closes once; a restart adopts it; /trail off brings a fixed stop back', async () => {
    const first = await boot('bybit', 'perp');
    const fake = first.fake as FakeBybit;
    const fixed = await openLong(first.engine, 0.01);
    expect(await trail(first.engine, first.journal, first.clock, '1%')).toMatch(/Bybit USDT perps trail it natively from now on/);
    await until(
      () => stops(first.engine).length === 1 && stops(first.engine)[0]!.trailPct === 0.01 && stops(first.engine)[0]!.status === 'open',
      'trailing stop set',
      8000,
    );
    await until(() => first.journal.getOrder(fixed.clientOrderId)!.status === 'cancelled', 'fixed stop cancelled', 8000);
    const native = stops(first.engine)[0]!;
    expect(fake.trailing.get('BTCUSDT')?.distance).toBe(300); // 1% of 30,000
    expect(working(fake)).toEqual([]);
    const setAt = fake.requests.findIndex((r) => r.path === '/v5/position/trading-stop');
    const cancelAt = fake.requests.findIndex((r) => r.path === '/v5/order/cancel' && r.params['orderLinkId'] === fixed.clientOrderId);
    expect(cancelAt).toBeGreaterThan(setAt);
    expect(first.engine.status().unprotected).toEqual([]);

    // Restart: the attribute is read back from the position; nothing is set again.
    await first.ex.close();
    const second = await boot('bybit', 'perp', { journal: first.journal, clock: first.clock, fake });
    const reconciler = new Reconciler(second.engine, second.journal, second.ex, second.alerts, silentLogger(), second.clock, {
      inFlightGraceMs: RIG_RECV_MS + RESOLVE_MARGIN_MS,
    });
    expect((await reconciler.run('startup')).status).toBe('ok');
    reconciler.stop();
    const sets = () => fake.find('/v5/position/trading-stop', 'POST').length;
    expect(sets()).toBe(1);
    expect(stops(second.engine).map((o) => `${o.clientOrderId}:${o.status}`)).toEqual([`${native.clientOrderId}:open`]);

    // Off: a fixed stop goes out, then the attribute is removed.
    expect(await trail(second.engine, second.journal, second.clock, 'off')).toMatch(/a fixed stop replaces/);
    await until(() => second.journal.getOrder(native.clientOrderId)!.status === 'cancelled', 'trailing stop removed', 8000);
    expect(fake.trailing.has('BTCUSDT')).toBe(false);
    expect(stops(second.engine).map((o) => [o.trailPct, o.status])).toEqual([[undefined, 'open']]);
    expect(working(fake).length).toBe(1);

    // On again (from a higher price: the trail starts only tighter than the stop), then the venue
    // trails the high and closes once.
    candle(second.engine, fake, 30_110, 30_100);
    expect(await trail(second.engine, second.journal, second.clock, '1%')).toMatch(/natively from now on/);
    await until(
      () => fake.trailing.has('BTCUSDT') && working(fake).length === 0 && stops(second.engine).length === 1,
      'trailing again',
      8000,
    );
    const again = stops(second.engine)[0]!;
    expect(fake.trailing.get('BTCUSDT')?.distance).toBe(301); // 1% of 30,100
    fake.setPrice('BTCUSDT', 30_500); // best 30,500: the stop is at 30,199
    fake.setPrice('BTCUSDT', 30_200);
    expect(second.engine.portfolio.positions.has(SYM)).toBe(true);
    fake.setPrice('BTCUSDT', 30_190);
    await until(() => !second.engine.portfolio.positions.has(SYM), 'closed by the trailing stop', 8000);
    await until(() => second.journal.getOrder(again.clientOrderId)!.status === 'filled', 'trailing stop filled', 8000);
    expect(fake.book.trades.filter((t) => t.side === 'SELL').map((t) => [t.qty, t.price])).toEqual([[0.01, 30_190]]);
    expect(second.journal.count('fills')).toBe(2);
  });
});

describe('bot-managed trailing where the venue has no native trailing we use', () => {
  for (const [venue, type] of [
    ['binance', 'spot'],
    ['bybit', 'spot'],
  ] as const) {
    test(`${venue} ${type}: the trail is a stop order the bot moves up with the highs`, async () => {
      const { fake, engine } = await boot(venue, type, { limits: { trailingStopPct: 0.01 } });
      await openLong(engine, 0.01);
      candle(engine, fake, 30_500, 30_400);
      await until(
        () => stops(engine).length === 1 && Math.abs(stops(engine)[0]!.stopPrice! - 30_195) < 0.01 && stops(engine)[0]!.status === 'open',
        'trailed',
        8000,
      );
      await until(() => working(fake).length === 1, 'old one cancelled', 8000);
      expect(stops(engine)[0]!.trailPct).toBeUndefined();
      expect(working(fake).map((o) => `${o.qty}@${o.stopPrice}`)).toEqual([`${stops(engine)[0]!.qty}@30195`]);
    });
  }
});

describe('the fake Bybit’s linear trailing stop (a position attribute) with the real ccxt', () => {
  test('ccxt createOrder with trailingAmount sets the position’s trailingStop via /v5/position/trading-stop; it trails the high and closes once', async () => {
    const { fake, ccxt: c } = await ccxtRig('bybit', 'perp');
    const sym = 'BTC/USDT:USDT';
    await c.createOrder(sym, 'market', 'buy', 0.01);
    const set = await c.createOrder(sym, 'market', 'sell', 0.01, undefined, { trailingAmount: '300' });
    expect(set.id).toBeUndefined(); // no order: nothing to look up by id or client id
    const req = fake.find('/v5/position/trading-stop', 'POST');
    expect(req.map((r) => r.params['trailingStop'])).toEqual(['300']);
    const [pos] = await c.fetchPositions([sym]);
    expect(pos!.info['trailingStop']).toBe('300');
    fake.setPrice('BTCUSDT', 30_500); // best 30,500: the stop is at 30,200
    fake.setPrice('BTCUSDT', 30_250);
    expect(fake.book.positions.get('BTCUSDT')!.qty).toBeCloseTo(0.01, 10);
    fake.setPrice('BTCUSDT', 30_200);
    expect(fake.book.positions.get('BTCUSDT')?.qty ?? 0).toBe(0);
    const closes = await c.fetchMyTrades(sym);
    const close = closes.find((t) => t.side === 'sell')!;
    expect([close.amount, close.price, close.info['stopOrderType']]).toEqual([0.01, 30_200, 'TrailingStop']);
    expect(((await c.fetchPositions([sym]))[0]?.info['trailingStop'] as string | undefined) ?? '0').toBe('0');
    // Nothing left to trail: setting one on a flat position is refused.
    await expect(c.createOrder(sym, 'market', 'sell', 0.01, undefined, { trailingAmount: '300' })).rejects.toThrow(/zero position/);
  });
});
