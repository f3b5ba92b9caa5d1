// The live adapter (src/exchange/ccxt/, BYBIT spec) with the REAL ccxt against a local fake Bybit v5
// (test/fakes/exchange/bybit.ts): spot and linear USDT perps, order mapping, faults, the private
// websocket, and an engine on top. No network. Time: one TestClock (wall time + an offset) drives the
// adapter, the engine and the fake's order/trade times and request log; the adapter's injected sleep
// advances it and sleeps only a few real ms, so recv_window deadlines and rate-limit waits pass
// quickly but measurably. The fake checks every request's HMAC signature.

import ccxt from 'ccxt';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { UserError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Candle, Order } from '../../src/core/types.ts';
import { Reconciler } from '../../src/engine/reconcile.ts';
import { RESOLVE_MARGIN_MS } from '../../src/exchange/ccxt/index.ts';
import { Journal } from '../../src/journal/journal.ts';
import type { FakeBybit } from '../fakes/exchange/bybit.ts';
import { ccxtRig, closeRigs, makeFake as makeVenueFake, RIG_RECV_MS, type FakeOptionsOf, type RigOptions } from '../helpers/ccxt-rig.ts';
import { nextOrder } from '../helpers/orders.ts';
import { idleEngine, TestClock, realSleep, until } from '../helpers/venue-time.ts';

const RECV = RIG_RECV_MS;

afterEach(closeRigs);
const makeFake = (type: 'spot' | 'perp', clock: TestClock, fake: Partial<FakeOptionsOf<'bybit'>> = {}) =>
  makeVenueFake('bybit', type, clock, fake);
const rig = (type: 'spot' | 'perp', opts: RigOptions<'bybit'> = {}) => ccxtRig('bybit', type, opts);

const order = nextOrder;

const creates = (fake: FakeBybit): Array<Record<string, string>> => fake.find('/v5/order/create', 'POST').map((r) => r.params);
const createOf = (fake: FakeBybit, coid: string): Record<string, string> => creates(fake).find((p) => p['orderLinkId'] === coid)!;
const sentOnce = (fake: FakeBybit, coid: string): number => fake.sentClientOrderIds().filter((c) => c === coid).length;
const lookups = (fake: FakeBybit, coid: string) =>
  fake.requests.filter((q) => q.method === 'GET' && /^\/v5\/order\/(realtime|history)$/.test(q.path) && q.params['orderLinkId'] === coid);
const bybitError = (code: number, msg: string) => ({ retCode: code, retMsg: msg, result: {}, retExtInfo: {}, time: Date.now() });

// ---- spot ------------------------------------------------------------------------------------------

describe('spot: markets, balances, order mapping', () => {
  test('connect loads only spot instruments, signs every private call with the recv_window, answers the venue’s precision', async () => {
    const r = await rig('spot', { connect: false });
    expect(r.ex.market('BTC/USDT')).toMatchObject({ qtyStep: 0.00001, minNotional: 5 }); // provisional
    await r.ex.connect();
    expect(r.ex.market('BTC/USDT')).toEqual({
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      type: 'spot',
      qtyStep: 0.000001,
      priceStep: 0.01,
      minQty: 0.000048,
      minNotional: 5,
      maxLeverage: 1,
    });
    expect(r.fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /v5/market/instruments-info',
      'GET /v5/market/time',
      'GET /v5/user/query-api',
      'GET /v5/account/info',
      'GET /v5/account/wallet-balance',
    ]);
    expect(r.fake.requests[0]!.params).toEqual({ category: 'spot' });
    const wallet = r.fake.find('/v5/account/wallet-balance')[0]!;
    expect(wallet.params).toEqual({ accountType: 'UNIFIED' });
    expect(wallet.headers['x-bapi-recv-window']).toBe(String(RECV));
    expect(r.ex.status()).toMatchObject({ up: true });
    expect(r.ex.status().detail).toMatch(/Bybit spot LIVE/);
    expect(await r.ex.fetchBalances()).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    expect(await r.ex.fetchPositions()).toEqual([]);
    expect(await r.ex.fetchFundingRate('BTC/USDT')).toBeNull();
  });
});

describe('spot orders', () => {
  test('too small orders and bad orderLinkIds are rejected locally with the reason and never sent', async () => {
    const r = await rig('spot');
    const tiny = order({ type: 'limit', price: 1000, qty: 0.001 }); // 1 USDT < 5
    const dust = order({ qty: 0.00002 }); // below minOrderQty 0.000048
    const dotted = order({ clientOrderId: 'sk.000001' }); // Binance takes '.', Bybit does not
    const long = order({ clientOrderId: 'sk-' + 'x'.repeat(34) });
    const cheap = order({ qty: 0.0001 }); // market: priced with the ticker
    r.fake.setPrice('BTCUSDT', 30_000); // 0.0001 × 30 000 = 3 < 5
    for (const o of [tiny, dust, dotted, long, cheap]) r.ex.submit(o);
    await until(() => [tiny, dust, dotted, long, cheap].every((o) => r.rec.last(o.clientOrderId)?.status === 'rejected'), 'local rejects');
    expect(r.rec.last(tiny.clientOrderId)!.reason).toBe('order value 1 USDT is below the venue minimum 5 USDT');
    expect(r.rec.last(dust.clientOrderId)!.reason).toMatch(/quantity 0.00002 is below the venue minimum 0.000048 BTC/);
    expect(r.rec.last(dotted.clientOrderId)!.reason).toBe(
      'client order id sk.000001 is not valid for Bybit (at most 36 of A-Z a-z 0-9 _ -)',
    );
    expect(r.rec.last(long.clientOrderId)!.reason).toMatch(/is not valid for Bybit/);
    expect(r.rec.last(cheap.clientOrderId)!.reason).toBe('order value 3 USDT is below the venue minimum 5 USDT');
    expect(creates(r.fake)).toHaveLength(0);
    expect(r.fake.find('/v5/market/tickers')[0]!.params).toEqual({ category: 'spot', symbol: 'BTCUSDT' });
  });

  test('each order type maps to the parameters Bybit spot expects; fees in the coin received', async () => {
    const r = await rig('spot', { fake: { balances: { USDT: 10_000, BTC: 0.02 } } });
    const m = order({ type: 'market', qty: 0.01 });
    const q = order({ type: 'market', qty: undefined, quoteQty: 100 });
    const l = order({ type: 'limit', price: 29_000.004, qty: 0.0100009 }); // price and qty rounded to the filters
    const ioc = order({ type: 'limit', price: 29_000, tif: 'IOC' });
    const po = order({ type: 'limit', price: 29_000, tif: 'PO' });
    const poTake = order({ type: 'limit', price: 31_000, tif: 'PO' }); // would take: accepted, then cancelled
    const sm = order({ type: 'stop_market', side: 'sell', stopPrice: 28_000, qty: 0.005, reduceOnly: true });
    const sl = order({ type: 'stop_limit', side: 'sell', stopPrice: 28_000, price: 27_900, qty: 0.005 });
    const all = [m, q, l, ioc, po, poTake, sm, sl];
    for (const o of all) r.ex.submit(o);
    await until(() => creates(r.fake).length === all.length && all.every((o) => r.rec.last(o.clientOrderId) !== undefined), 'all sent');
    const by = (o: Order) => createOf(r.fake, o.clientOrderId);
    for (const o of all) expect(by(o)).toMatchObject({ category: 'spot', symbol: 'BTCUSDT', orderLinkId: o.clientOrderId });
    expect(by(m)).toEqual({
      category: 'spot',
      symbol: 'BTCUSDT',
      side: 'Buy',
      orderType: 'Market',
      marketUnit: 'baseCoin',
      qty: '0.01',
      orderLinkId: m.clientOrderId,
    });
    expect(by(q)).toMatchObject({ side: 'Buy', orderType: 'Market', marketUnit: 'quoteCoin', qty: '100' });
    expect(by(l)).toMatchObject({ orderType: 'Limit', timeInForce: 'GTC', price: '29000', qty: '0.01' });
    expect(by(ioc)).toMatchObject({ orderType: 'Limit', timeInForce: 'IOC' });
    expect(by(po)).toMatchObject({ orderType: 'Limit', timeInForce: 'PostOnly', price: '29000' });
    expect(by(sm)).toEqual({
      category: 'spot',
      symbol: 'BTCUSDT',
      side: 'Sell',
      orderType: 'Market',
      orderFilter: 'StopOrder',
      triggerPrice: '28000',
      marketUnit: 'baseCoin',
      qty: '0.005',
      orderLinkId: sm.clientOrderId,
    }); // no reduceOnly, no triggerDirection on spot
    expect(by(sl)).toMatchObject({
      orderType: 'Limit',
      orderFilter: 'StopOrder',
      triggerPrice: '28000',
      price: '27900',
      timeInForce: 'GTC',
    });
    // The answer carries no state: polling (execution list + realtime) reports it.
    await until(() => r.rec.last(m.clientOrderId)?.status === 'filled' && r.rec.last(q.clientOrderId)?.status === 'filled', 'market fills');
    expect(r.rec.statuses(m.clientOrderId)).toEqual(['open', 'filled']);
    // Bybit charges a spot buy's fee in the coin bought: the fill books the net quantity, the fee at its quote value.
    const [fill] = r.rec.fillsOf(m.clientOrderId);
    expect(fill).toMatchObject({ symbol: 'BTC/USDT', side: 'buy', price: 30_000, feeCurrency: 'USDT', liquidity: 'taker' });
    expect(fill!.qty).toBeCloseTo(0.01 - 0.00001, 12);
    expect(fill!.fee).toBeCloseTo(0.00001 * 30_000, 9);
    expect(fill!.tradeId).toMatch(/^BTCUSDT:[0-9a-f]{8}-[0-9a-f]{4}-/); // execIds are UUIDs
    expect(r.rec.last(q.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 0.003333 });
    await until(
      () => ['expired'].includes(r.rec.last(ioc.clientOrderId)?.status ?? '') && r.rec.last(poTake.clientOrderId)?.status === 'expired',
      'expired',
    );
    expect(r.rec.last(ioc.clientOrderId)!.reason).toBe('expired without filling (IOC, post-only or no liquidity)');
    // (Sorted by time; orders placed in the same millisecond by client order id.)
    const openOrders = (await r.ex.fetchOpenOrders()).sort((a, b) => a.ts - b.ts || a.clientOrderId.localeCompare(b.clientOrderId));
    expect(openOrders.map((o) => [o.clientOrderId, o.type, o.status])).toEqual([
      [l.clientOrderId, 'limit', 'open'],
      [po.clientOrderId, 'limit', 'open'],
      [sm.clientOrderId, 'stop_market', 'open'],
      [sl.clientOrderId, 'stop_limit', 'open'],
    ]);
    expect(openOrders[2]).toMatchObject({
      stopPrice: 28_000,
      qty: 0.005,
      side: 'sell',
      exchangeOrderId: r.fake.oid(r.fake.order(sm.clientOrderId)!),
    });
    expect(new Set(r.fake.sentClientOrderIds()).size).toBe(all.length);
    // Holdings equal the fills: 0.02 + net bought.
    const btc = (await r.ex.fetchBalances()).find((b) => b.asset === 'BTC')!;
    const bought = r.rec.fills.filter((x) => x.side === 'buy').reduce((a, x) => a + x.qty, 0);
    expect(btc.free + btc.locked).toBeCloseTo(0.02 + bought, 12);
  });

  test('a stop triggers on the price path (same order id); cancel by orderLinkId; cancelling a gone order reports nothing new', async () => {
    const r = await rig('spot', { fake: { balances: { USDT: 10_000, BTC: 1 } } });
    const stop = order({ type: 'stop_market', side: 'sell', stopPrice: 29_000, qty: 0.01 });
    const stop2 = order({ type: 'stop_limit', side: 'sell', stopPrice: 25_000, price: 24_900, qty: 0.01 });
    const limit = order({ type: 'limit', price: 25_000 });
    for (const o of [stop, stop2, limit]) r.ex.submit(o);
    await until(() => [stop, stop2, limit].every((o) => r.rec.last(o.clientOrderId)?.status === 'open'), 'resting');
    r.ex.cancel({ ...limit, status: 'open' });
    r.ex.cancel({ ...stop2, status: 'open' });
    await until(
      () => r.rec.last(limit.clientOrderId)?.status === 'cancelled' && r.rec.last(stop2.clientOrderId)?.status === 'cancelled',
      'cancelled',
    );
    expect(r.rec.last(limit.clientOrderId)!.reason).toBe('cancelled on request');
    const cancels = r.fake.find('/v5/order/cancel', 'POST').map((q) => q.params);
    expect(cancels).toEqual([
      { category: 'spot', symbol: 'BTCUSDT', orderFilter: 'Order', orderLinkId: limit.clientOrderId },
      { category: 'spot', symbol: 'BTCUSDT', orderFilter: 'StopOrder', orderLinkId: stop2.clientOrderId },
    ]); // by orderLinkId alone, never an empty orderId
    r.fake.setPrice('BTCUSDT', 28_950);
    await until(() => r.rec.last(stop.clientOrderId)?.status === 'filled', 'stop filled');
    expect(r.rec.fillsOf(stop.clientOrderId)).toEqual([
      expect.objectContaining({ side: 'sell', price: 28_950, qty: 0.01, fee: expect.closeTo(0.2895, 9) }),
    ]);
    expect(r.rec.last(stop.clientOrderId)!.exchangeOrderId).toBe(r.fake.oid(r.fake.order(stop.clientOrderId)!));
    const before = r.rec.updates.length;
    r.ex.cancel({ ...stop, status: 'open' });
    await until(() => lookups(r.fake, stop.clientOrderId).length > 0, 'lookup after a refused cancel');
    await realSleep(30);
    expect(r.rec.updates.length).toBe(before);
    expect(r.rec.fills).toHaveLength(1);
  });
});

// ---- linear perps ------------------------------------------------------------------------------------

describe('linear USDT perps', () => {
  test('connect: the unified account’s margin mode is read, switched once (account-wide) and leverage set; "not modified" is fine', async () => {
    const r = await rig('perp');
    expect(r.ex.market('BTC/USDT')).toMatchObject({
      type: 'perp',
      qtyStep: 0.001,
      priceStep: 0.1,
      minQty: 0.001,
      minNotional: 5,
      maxLeverage: 100,
    });
    expect(r.fake.find('/v5/market/instruments-info').map((q) => q.params)).toEqual([
      { category: 'linear', limit: '1000' },
      { category: 'linear', limit: '1000', status: 'PreLaunch' },
    ]);
    expect(r.fake.find('/v5/account/set-margin-mode')[0]!.params).toEqual({ setMarginMode: 'ISOLATED_MARGIN' });
    expect(r.fake.marginMode).toBe('ISOLATED_MARGIN');
    expect(r.fake.find('/v5/position/set-leverage')[0]!.params).toEqual({
      category: 'linear',
      symbol: 'BTCUSDT',
      buyLeverage: '5',
      sellLeverage: '5',
    });
    expect(r.fake.book.leverage.get('BTCUSDT')).toBe(5);
    expect(r.fake.find('/v5/position/switch-isolated')).toHaveLength(0);
    // Switching the whole account is said out loud.
    expect(r.rec.alerts).toEqual([
      expect.objectContaining({
        severity: 'info',
        message: expect.stringMatching(/switched the whole unified trading account from cross to isolated margin/),
      }),
    ]);
    expect(r.ex.status().detail).toMatch(/Bybit USDT perps LIVE/);
    // A second process: the mode is already isolated (no switch), the leverage not modified (110043): not an error.
    const again = await rig('perp', { fakeInstance: r.fake, clock: r.clock });
    expect(r.fake.find('/v5/account/set-margin-mode')).toHaveLength(1);
    expect(r.fake.find('/v5/position/set-leverage')).toHaveLength(2);
    expect(again.ex.status().up).toBe(true);
    expect(again.rec.alerts).toEqual([]);
  });

  test('connect: a classic account sets isolated per symbol (switch-isolated); portfolio margin is left alone with a warning', async () => {
    const classic = await rig('perp', { fake: { unified: false } });
    expect(classic.fake.find('/v5/position/switch-isolated')[0]!.params).toEqual({
      category: 'linear',
      symbol: 'BTCUSDT',
      tradeMode: '1',
      buyLeverage: '5',
      sellLeverage: '5',
    });
    expect(classic.fake.find('/v5/account/set-margin-mode')).toHaveLength(0);
    expect(classic.fake.find('/v5/account/wallet-balance')[0]!.params).toEqual({ accountType: 'CONTRACT' });
    expect(await classic.ex.fetchBalances()).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    const again = await rig('perp', { fakeInstance: classic.fake, clock: classic.clock }); // 110026: already isolated
    expect(again.rec.alerts).toEqual([]);
    const pm = await rig('perp', { fake: { marginMode: 'PORTFOLIO_MARGIN' } });
    expect(pm.fake.find('/v5/account/set-margin-mode')).toHaveLength(0);
    expect(pm.rec.alerts).toEqual([
      expect.objectContaining({
        severity: 'warning',
        title: 'BTC/USDT: margin mode not set',
        message: expect.stringMatching(/portfolio margin/),
      }),
    ]);
    expect(pm.ex.status().up).toBe(true);
    // A classic account cannot trade spot here: a clear refusal at connect.
    const spot = rig('spot', { fake: { unified: false } });
    await expect(spot).rejects.toThrow(UserError);
    await expect(spot).rejects.toThrow(/Bybit spot LIVE via http:\/\/127.0.0.1:\d+: Bybit spot trading needs a Unified Trading Account/);
  });

  test('order mapping: category linear, reduceOnly, PostOnly, IOC, conditionals with triggerDirection; a stop keeps its id when it triggers', async () => {
    const r = await rig('perp');
    const m = order({ qty: 0.01 });
    r.ex.submit(m);
    await until(() => r.rec.last(m.clientOrderId)?.status === 'filled', 'entry');
    const ro = order({ side: 'sell', qty: 0.004, reduceOnly: true });
    const po = order({ type: 'limit', price: 28_000, tif: 'PO' });
    const ioc = order({ type: 'limit', price: 29_000, tif: 'IOC' });
    const sm = order({ type: 'stop_market', side: 'sell', stopPrice: 29_000, qty: 0.006, reduceOnly: true });
    const sl = order({ type: 'stop_limit', side: 'buy', stopPrice: 31_000, price: 31_100 });
    const all = [ro, po, ioc, sm, sl];
    for (const o of all) r.ex.submit(o);
    await until(() => all.every((o) => r.rec.last(o.clientOrderId) !== undefined), 'answers');
    const by = (o: Order) => createOf(r.fake, o.clientOrderId);
    expect(by(m)).toEqual({
      category: 'linear',
      symbol: 'BTCUSDT',
      side: 'Buy',
      orderType: 'Market',
      qty: '0.01',
      orderLinkId: m.clientOrderId,
    });
    expect(by(ro)).toMatchObject({ side: 'Sell', orderType: 'Market', qty: '0.004', reduceOnly: 'true' });
    expect(by(po)).toMatchObject({ orderType: 'Limit', timeInForce: 'PostOnly', price: '28000' });
    expect(by(ioc)).toMatchObject({ orderType: 'Limit', timeInForce: 'IOC' });
    expect(by(sm)).toEqual({
      category: 'linear',
      symbol: 'BTCUSDT',
      side: 'Sell',
      orderType: 'Market',
      qty: '0.006',
      triggerPrice: '29000',
      triggerDirection: '2', // falling
      reduceOnly: 'true',
      orderLinkId: sm.clientOrderId,
    });
    expect(by(sl)).toMatchObject({
      side: 'Buy',
      orderType: 'Limit',
      price: '31100',
      triggerPrice: '31000',
      triggerDirection: '1',
      timeInForce: 'GTC',
    });
    await until(() => r.rec.last(ro.clientOrderId)?.status === 'filled' && r.rec.last(ioc.clientOrderId)?.status === 'expired', 'settled');
    expect(r.rec.last(ro.clientOrderId)).toMatchObject({ filledQty: 0.004 });
    const oo = (await r.ex.fetchOpenOrders('BTC/USDT')).sort((a, b) => a.ts - b.ts || a.clientOrderId.localeCompare(b.clientOrderId));
    expect(oo.map((o) => [o.clientOrderId, o.type, o.reduceOnly])).toEqual([
      [po.clientOrderId, 'limit', false],
      [sm.clientOrderId, 'stop_market', true],
      [sl.clientOrderId, 'stop_limit', false],
    ]);
    expect(oo[1]!.exchangeOrderId).toMatch(/^[0-9a-f]{8}-/); // linear order ids are UUIDs
    r.fake.setPrice('BTCUSDT', 28_990);
    await until(() => r.rec.last(sm.clientOrderId)?.status === 'filled', 'stop filled');
    expect(r.rec.fillsOf(sm.clientOrderId)).toEqual([expect.objectContaining({ side: 'sell', qty: 0.006, price: 28_990 })]);
    expect(r.rec.fillsOf(sm.clientOrderId)[0]!.exchangeOrderId).toBe(oo[1]!.exchangeOrderId);
    expect(await r.ex.fetchOrder(sm.clientOrderId, 'BTC/USDT')).toMatchObject({ status: 'filled', filledQty: 0.006, type: 'stop_market' });
    r.ex.cancel({ ...sl, status: 'open' });
    await until(() => r.rec.last(sl.clientOrderId)?.status === 'cancelled', 'conditional cancelled');
    expect(r.fake.find('/v5/order/cancel', 'POST')[0]!.params).toEqual({
      category: 'linear',
      symbol: 'BTCUSDT',
      orderLinkId: sl.clientOrderId,
    });
    expect(await r.ex.fetchPositions()).toEqual([]);
    expect(new Set(r.fake.sentClientOrderIds()).size).toBe(6);
  });

  test('positions, balances, funding rate, open interest and funding payments (execFee > 0 means paid)', async () => {
    const r = await rig('perp');
    const o = order({ qty: 0.02 });
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'entry');
    r.fake.setPrice('BTCUSDT', 31_000);
    const pos = await r.ex.fetchPositions();
    expect(pos).toEqual([
      expect.objectContaining({ symbol: 'BTC/USDT', side: 'long', qty: 0.02, entryPrice: 30_000, leverage: 5, unrealizedPnl: 20 }),
    ]);
    expect(pos[0]!.liquidationPrice).toBeGreaterThan(0);
    expect(r.fake.find('/v5/position/list').at(-1)!.params).toEqual({ category: 'linear', symbol: 'BTCUSDT', limit: '200' });
    const usdt = (await r.ex.fetchBalances()).find((b) => b.asset === 'USDT')!;
    expect(usdt.free + usdt.locked).toBeCloseTo(10_000 - 0.6, 6); // the wallet: the taker fee paid, no unrealized PnL
    expect(usdt.locked).toBeCloseTo((0.02 * 30_000) / 5, 6);
    expect(await r.ex.fetchFundingRate('BTC/USDT')).toEqual({ rate: 0.0001, nextTs: expect.any(Number) });
    expect(r.fake.find('/v5/market/tickers').at(-1)!.params).toEqual({ category: 'linear', symbol: 'BTCUSDT' });
    expect(await r.ex.fetchOpenInterest('BTC/USDT')).toBe(12345.678);
    const since = r.clock.now() - 1;
    const paid = r.fake.fund('BTCUSDT', 0.0001)!; // a long pays 0.02 × 31 000 × 0.0001
    r.fake.book.positions.get('BTCUSDT')!.qty = -0.02; // (pretend) a short receives the next one
    r.clock.advance(1000);
    const got = r.fake.fund('BTCUSDT', 0.0001)!;
    r.fake.book.positions.get('BTCUSDT')!.qty = 0.02;
    const list = await r.ex.fetchFunding('BTC/USDT', since);
    expect(list).toEqual([
      // The rate each settled at: Bybit's funding execution says (feeRate).
      { paymentId: r.fake.executionIds('Funding')[0], symbol: 'BTC/USDT', amount: -0.062, rate: 0.0001, ts: paid.time },
      { paymentId: r.fake.executionIds('Funding')[1], symbol: 'BTC/USDT', amount: 0.062, rate: 0.0001, ts: got.time },
    ]);
    expect(r.fake.find('/v5/execution/list').at(-1)!.params).toMatchObject({ execType: 'Funding', category: 'linear', symbol: 'BTCUSDT' });
    // Funding executions are not trades.
    expect(r.rec.fills).toHaveLength(1);
    // The poller reports each once through onFunding (it looks every minute: let the clock run).
    r.clock.advance(61_000);
    await until(() => r.rec.funding.length === 2, 'funding events');
    r.clock.advance(61_000);
    await realSleep(50);
    expect(r.rec.funding.map((p) => p.amount)).toEqual([-0.062, 0.062]);
  });
});

// ---- faults ------------------------------------------------------------------------------------------

describe('faults on /v5/order/create', () => {
  test('timeout after the venue accepted: unknown → looked up by orderLinkId → filled, never sent twice', async () => {
    const r = await rig('perp');
    r.fake.inject({ kind: 'acceptThenHang', method: 'POST', path: '/v5/order/create' });
    const o = order();
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'resolved');
    expect(r.rec.statuses(o.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(r.rec.of(o.clientOrderId)[0]!.reason).toMatch(/no answer from the venue \(.*timed out.*\): looking the order up/);
    expect(r.rec.fillsOf(o.clientOrderId)).toHaveLength(1);
    expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    expect(lookups(r.fake, o.clientOrderId)[0]).toMatchObject({
      path: '/v5/order/realtime',
      params: { category: 'linear', symbol: 'BTCUSDT', orderLinkId: o.clientOrderId },
    });
    expect(r.rec.last(o.clientOrderId)!.exchangeOrderId).toBe(r.fake.oid(r.fake.order(o.clientOrderId)!));
  });

  test('dropped after accept: found in /v5/order/history once realtime forgot it; 5xx pages and retCode 10016 after accept → resolved', async () => {
    const r = await rig('spot', { fake: { balances: { USDT: 10_000, BTC: 1 } } });
    r.fake.realtimeClosedLimit = 0; // realtime answers open orders only: a closed one must come from history
    r.fake.inject({ kind: 'acceptThenDrop', method: 'POST', path: '/v5/order/create' });
    const a = order({ side: 'sell' });
    r.ex.submit(a);
    await until(() => r.rec.last(a.clientOrderId)?.status === 'filled', 'a filled');
    expect(r.rec.statuses(a.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(lookups(r.fake, a.clientOrderId).map((q) => q.path)).toEqual(['/v5/order/realtime', '/v5/order/history']);
    // A gateway's HTML 503 after the order was booked.
    r.fake.inject({ kind: 'acceptThenStatus', status: 503, method: 'POST', path: '/v5/order/create' });
    const b = order({ type: 'limit', price: 29_000 });
    r.ex.submit(b);
    await until(() => r.rec.last(b.clientOrderId)?.status === 'open', 'b open');
    expect(r.rec.statuses(b.clientOrderId)).toEqual(['unknown', 'open']);
    // A JSON 502 with no retCode (a proxy's): bybit.js calls it an ExchangeError, it is no refusal.
    r.fake.inject({ kind: 'acceptThenStatus', status: 502, method: 'POST', path: '/v5/order/create', body: { error: 'bad gateway' } });
    const c = order({ side: 'sell' });
    r.ex.submit(c);
    // Bybit's own "system error, try again" (HTTP 200, retCode 10016): the order may exist.
    r.fake.inject({
      kind: 'acceptThenStatus',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      match: (p) => p['orderLinkId'] !== c.clientOrderId,
      body: bybitError(10016, 'System error. Please try again later.'),
    });
    const d = order({ side: 'sell' });
    r.ex.submit(d);
    await until(() => r.rec.last(c.clientOrderId)?.status === 'filled' && r.rec.last(d.clientOrderId)?.status === 'filled', 'c, d filled');
    expect(r.rec.statuses(c.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(r.rec.statuses(d.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(r.rec.of(d.clientOrderId)[0]!.reason).toMatch(/System error. Please try again later. \(code 10016\)/);
    for (const o of [a, b, c, d]) expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    expect(r.fake.book.orders).toHaveLength(4);
  });

  test('a create that never reached the venue is rejected only after recv_window (+ margin), looked up in realtime and history', async () => {
    const r = await rig('perp');
    r.fake.inject({ kind: 'drop', method: 'POST', path: '/v5/order/create' });
    r.fake.inject({ kind: 'status', status: 502, method: 'POST', path: '/v5/order/create' }); // the HTML gateway page
    const a = order();
    const b = order();
    r.ex.submit(a);
    await until(() => r.rec.last(a.clientOrderId)?.status === 'rejected', 'a rejected');
    r.ex.submit(b);
    await until(() => r.rec.last(b.clientOrderId)?.status === 'rejected', 'b rejected');
    for (const o of [a, b]) {
      const ups = r.rec.of(o.clientOrderId);
      expect(ups.map((u) => u.status)).toEqual(['unknown', 'rejected']);
      const sentAt = r.fake.find('/v5/order/create', 'POST').find((q) => q.params['orderLinkId'] === o.clientOrderId)!.ts;
      expect(ups[1]!.ts - sentAt).toBeGreaterThanOrEqual(RECV + RESOLVE_MARGIN_MS);
      expect(ups[1]!.reason).toMatch(/^never reached the venue \(not found \d+ s after sending, past the 2000 ms recvWindow\)$/);
      expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
      const asked = lookups(r.fake, o.clientOrderId);
      expect(asked.filter((q) => q.path === '/v5/order/realtime').length).toBeGreaterThan(1);
      expect(asked.filter((q) => q.path === '/v5/order/history').length).toBeGreaterThan(1);
      expect(asked.some((q) => q.ts < sentAt + RECV + RESOLVE_MARGIN_MS)).toBe(true); // an early "not found" decided nothing
    }
    expect(r.fake.book.orders).toHaveLength(0);
  });

  test('rate limits: 10006 waits until X-Bapi-Limit-Reset-Timestamp, 403 is an IP ban; never re-sent', async () => {
    const r = await rig('spot', { noPolling: true });
    r.fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      headers: { 'X-Bapi-Limit': '10', 'X-Bapi-Limit-Status': '0', 'X-Bapi-Limit-Reset-Timestamp': String(r.clock.now() + 3000) },
      body: bybitError(10006, 'Too many visits!'),
    });
    const o = order();
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'rejected', 'rejected');
    expect(r.rec.statuses(o.clientOrderId)).toEqual(['unknown', 'rejected']);
    expect(r.rec.last(o.clientOrderId)!.reason).toBe('rate-limited by the venue (too many requests (retCode 10006)): not placed');
    const i = r.fake.requests.findIndex((q) => q.method === 'POST' && q.path === '/v5/order/create');
    const after = r.fake.requests.slice(i + 1);
    expect(after[0]).toMatchObject({ path: '/v5/order/realtime', params: expect.objectContaining({ orderLinkId: o.clientOrderId }) });
    expect(after.every((q) => q.ts - r.fake.requests[i]!.ts >= 2900)).toBe(true);
    expect(after.some((q) => q.method === 'POST')).toBe(false);
    expect(r.ccxt.rateLimit).toBe(4 * 20); // slowed down
    expect(r.rec.alerts.find((a) => a.title === 'Bybit rate limit (10006)')).toMatchObject({ severity: 'warning' });

    r.fake.inject({
      kind: 'status',
      status: 403,
      method: 'POST',
      path: '/v5/order/create',
      body: '<html>403 Forbidden: access too frequent</html>',
    });
    const p = order();
    r.ex.submit(p);
    await until(() => r.rec.last(p.clientOrderId)?.status === 'rejected', '403 rejected');
    const j = r.fake.requests.findIndex((q) => q.method === 'POST' && q.params['orderLinkId'] === p.clientOrderId);
    expect(r.fake.requests[j + 1]!.ts - r.fake.requests[j]!.ts).toBeGreaterThanOrEqual(600_000); // ten minutes
    expect(r.rec.alerts.find((a) => a.title === 'Bybit rate limit (403)')).toMatchObject({ severity: 'critical' });
    for (const x of [o, p]) expect(sentOnce(r.fake, x.clientOrderId)).toBe(1);
    expect(r.fake.book.orders).toHaveLength(0);
  });

  test('final refusals: rejected with Bybit’s words; clock (10002) and auth (10003) alert; a duplicate orderLinkId is looked up', async () => {
    const r = await rig('spot');
    const big = order({ qty: 1 }); // 30 000 USDT > 10 000
    r.ex.submit(big);
    await until(() => r.rec.last(big.clientOrderId)?.status === 'rejected', 'insufficient');
    expect(r.rec.last(big.clientOrderId)!.reason).toBe('Insufficient balance. (code 170131)');
    r.fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      body: bybitError(170140, 'Order value exceeded lower limit.'),
    });
    const n = order();
    r.ex.submit(n);
    await until(() => r.rec.last(n.clientOrderId)?.status === 'rejected', 'notional');
    expect(r.rec.last(n.clientOrderId)!.reason).toBe('Order value exceeded lower limit. (code 170140)');
    expect(r.rec.alerts).toEqual([]);
    const times = r.fake.find('/v5/market/time').length;
    r.fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      body: bybitError(10002, 'invalid request, please check your server timestamp or recv_window param'),
    });
    const ts = order();
    r.ex.submit(ts);
    await until(() => r.rec.last(ts.clientOrderId)?.status === 'rejected', 'timestamp');
    expect(r.rec.last(ts.clientOrderId)!.reason).toMatch(
      /^the venue refused the request time: invalid request, please check .*\(code 10002\)$/,
    );
    expect(r.rec.alerts.at(-1)).toMatchObject({ severity: 'critical', title: 'Bybit: clock out of sync' });
    await until(() => r.fake.find('/v5/market/time').length > times, 'the offset measured again');
    r.fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      body: bybitError(10003, 'API key is invalid.'),
    });
    const auth = order();
    r.ex.submit(auth);
    await until(() => r.rec.last(auth.clientOrderId)?.status === 'rejected', 'auth');
    expect(r.rec.last(auth.clientOrderId)!.reason).toBe('the venue refused the API key: API key is invalid. (code 10003)');
    expect(r.rec.alerts.at(-1)).toMatchObject({ severity: 'critical', title: 'Bybit: API key refused' });
    for (const o of [big, n, ts, auth]) expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    // Another process sends an orderLinkId the venue already has (170141): no second order, its state is adopted.
    const l = order({ type: 'limit', price: 29_000 });
    r.ex.submit(l);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'open', 'l open');
    const other = await rig('spot', { fakeInstance: r.fake, clock: r.clock });
    other.ex.submit({ ...l });
    await until(() => other.rec.last(l.clientOrderId)?.status === 'open', 'duplicate resolved');
    expect(other.rec.statuses(l.clientOrderId)).toEqual(['unknown', 'open']);
    expect(other.rec.of(l.clientOrderId)[0]!.reason).toBe(`the venue already has ${l.clientOrderId}: looking it up`);
    expect(r.fake.book.orders.filter((o) => o.coid === l.clientOrderId)).toHaveLength(1);
  });

  test('perps refusals: insufficient margin (110007), notional (110094), wrong-way trigger (110093)', async () => {
    const r = await rig('perp');
    const big = order({ qty: 10 });
    r.ex.submit(big);
    r.fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      match: (p) => p['orderLinkId'] !== big.clientOrderId,
      body: bybitError(110094, 'Order does not meet minimum order value 5USDT'),
    });
    const n = order();
    r.ex.submit(n);
    await until(() => [big, n].every((o) => r.rec.last(o.clientOrderId)?.status === 'rejected'), 'rejects');
    expect(r.rec.last(big.clientOrderId)!.reason).toBe('ab not enough for new order (code 110007)');
    expect(r.rec.last(n.clientOrderId)!.reason).toBe('Order does not meet minimum order value 5USDT (code 110094)');
    const late = order({ type: 'stop_market', side: 'sell', stopPrice: 30_500 }); // a sell stop above the price
    r.ex.submit(late);
    await until(() => r.rec.last(late.clientOrderId)?.status === 'rejected', 'late stop');
    expect(r.rec.last(late.clientOrderId)!.reason).toMatch(
      /^expect Falling, but trigger_price\[30500\] >= current\[30000\].*\(code 110093\): the price is already through the trigger$/,
    );
    expect(r.rec.last(late.clientOrderId)!.triggerPassed).toBe(true); // the engine exits as the stop would have
    expect(r.rec.last(n.clientOrderId)!.triggerPassed).toBeUndefined();
    expect(r.rec.alerts.filter((a) => a.severity !== 'info')).toEqual([]); // (info: the margin mode switched at connect)
  });
});

// ---- fills, streams, connect -------------------------------------------------------------------------

describe('partial fills, paging, streams, connect', () => {
  test('partial fills across price steps: cumulative updates, each execution exactly once (private stream + polling)', async () => {
    const r = await rig('spot', { websocket: true, fake: { balances: { USDT: 10_000, BTC: 1 } } });
    await r.fake.streamReady();
    r.fake.book.liquidity.set('BTCUSDT', 0.004);
    const o = order({ type: 'limit', side: 'sell', price: 30_100, qty: 0.01 });
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'open', 'open');
    for (const p of [30_150, 30_200, 30_120]) {
      r.fake.setPrice('BTCUSDT', p);
      await realSleep(60);
    }
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'filled');
    await realSleep(100); // more polls and stream messages: nothing new may come out
    const fills = r.rec.fillsOf(o.clientOrderId);
    expect(fills.map((f) => f.qty)).toEqual([0.004, 0.004, 0.002]);
    expect(fills.map((f) => f.tradeId).sort()).toEqual(
      r.fake
        .executionIds()
        .map((id) => `BTCUSDT:${id}`)
        .sort(),
    );
    const ups = r.rec.of(o.clientOrderId).filter((u) => u.status !== 'open');
    expect(ups.map((u) => [u.status, u.filledQty])).toEqual([
      ['partially_filled', 0.004],
      ['partially_filled', 0.008],
      ['filled', 0.01],
    ]);
    expect(r.rec.fillsFirst(o.clientOrderId)).toBe(true); // though the stream sends each order update before its execution
  });

  test('more executions than a page: read through the cursor, each exactly once; fetchFills walks the 7-day windows', async () => {
    const r = await rig('perp');
    r.fake.book.liquidity.set('BTCUSDT', 0.001);
    const o = order({ qty: 0.15 }); // one market order, 150 executions
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'filled');
    expect(r.rec.fillsOf(o.clientOrderId)).toHaveLength(150);
    expect(new Set(r.rec.fills.map((f) => f.tradeId)).size).toBe(150);
    const reads = r.fake.find('/v5/execution/list').filter((q) => q.params['execType'] === 'Trade');
    expect(reads.some((q) => q.params['cursor'] === 'page-100')).toBe(true);
    expect(reads.every((q) => Number(q.params['limit']) === 100)).toBe(true);
    await realSleep(50);
    expect(r.rec.fills).toHaveLength(150);
    // Reconciliation's read: from 10 days ago, window by window, every page.
    const all = await r.ex.fetchFills('BTC/USDT', r.clock.now() - 10 * 86_400_000);
    expect(all.map((f) => f.tradeId).sort()).toEqual(
      r.fake
        .executionIds()
        .map((id) => `BTCUSDT:${id}`)
        .sort(),
    );
    expect(all.every((f) => f.clientOrderId === o.clientOrderId)).toBe(true);
  });

  test('executions of orders this process did not send: the orderLinkId they carry, else the order looked up by id', async () => {
    const r = await rig('perp');
    const place = (coid: string) =>
      r.fake.book.place({
        symbol: 'BTCUSDT',
        side: 'BUY',
        kind: 'market',
        venueType: 'Market',
        coid,
        qty: 0.001,
        tif: 'IOC',
        postOnly: false,
        reduceOnly: false,
        conditional: false,
      });
    const mine = place('sk-before-restart'); // ours, from before a restart
    const web = place('fake-web'); // placed on the website: no orderLinkId
    await until(() => r.rec.fills.length === 2, 'polled');
    expect(r.rec.fills.map((f) => f.clientOrderId).sort()).toEqual(['', 'sk-before-restart']);
    expect(r.rec.fills.find((f) => f.clientOrderId === '')!.exchangeOrderId).toBe(r.fake.oid(web));
    // The website order was looked up by its id to learn it has no client id (the other needed no lookup).
    const byId = r.fake.find('/v5/order/realtime').filter((q) => q.params['orderId'] !== undefined);
    expect(byId.map((q) => q.params['orderId'])).toEqual([r.fake.oid(web)]);
    // After a restart the journal asks for its orders by client id: tracked from then on.
    expect(await r.ex.fetchOrder('sk-before-restart', 'BTC/USDT')).toMatchObject({
      clientOrderId: 'sk-before-restart',
      exchangeOrderId: r.fake.oid(mine),
      status: 'filled',
      filledQty: 0.001,
      type: 'market',
    });
    expect(await r.ex.fetchOrder('sk-never-sent', 'BTC/USDT')).toBeNull();
  });

  test('websocket: fills by stream alone; a silent stream is covered by polling; a dropped one reconnects', async () => {
    // Slow polling (20 s of sim time = 2 s real): what arrives quickly came from the stream.
    const r = await rig('perp', { websocket: true, pollMs: 20_000, realSleepCap: 2000, realSleepScale: 0.1 });
    await r.fake.streamReady();
    expect(r.fake.find('/v5/private')).toHaveLength(1); // orders and executions share one authenticated socket
    const a = order();
    r.ex.submit(a);
    await until(() => r.rec.last(a.clientOrderId)?.status === 'filled', 'filled by stream', 1500);
    expect(r.rec.fillsOf(a.clientOrderId)).toHaveLength(1);
    const l = order({ type: 'limit', price: 29_500 });
    r.ex.submit(l);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'open', 'open', 1500);
    r.fake.setPrice('BTCUSDT', 29_400);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'filled', 'stream fill', 1500);
    expect(r.fake.find('/v5/execution/list').length).toBeLessThanOrEqual(2); // the poller barely ran
    r.fake.streamSilent = true;
    const l2 = order({ type: 'limit', price: 29_300 });
    r.ex.submit(l2);
    await until(() => r.rec.last(l2.clientOrderId)?.status === 'open', 'open 2', 1500);
    r.fake.setPrice('BTCUSDT', 29_200);
    await until(() => r.rec.last(l2.clientOrderId)?.status === 'filled', 'polled fill', 3000);
    expect(r.rec.fillsOf(l2.clientOrderId)).toHaveLength(1);
    r.fake.streamSilent = false;
    r.fake.dropStreams();
    await until(() => r.rec.connections.some(([up]) => !up), 'down', 3000);
    expect(r.rec.connections[0]![1]).toMatch(/stream down/);
    await until(() => r.fake.find('/v5/private').length > 1, 'reconnected', 3000);
    await r.fake.streamReady();
    const b = order({ side: 'sell', qty: 0.03 });
    r.ex.submit(b);
    await until(() => r.rec.connections.some(([up]) => up), 'up again', 3000);
    expect(r.rec.connections.find(([up]) => up)![1]).toMatch(/stream reconnected/);
    await until(() => r.rec.fillsOf(b.clientOrderId).length === 1, 'fill after reconnect');
    expect(new Set(r.rec.fills.map((f) => f.tradeId)).size).toBe(r.rec.fills.length);
    expect(await r.ex.fetchPositions()).toEqual([]);
  });

  test('testnet is ccxt’s sandbox (api-testnet), not demo trading; refused keys give a clear UserError', async () => {
    const r = await rig('perp', { testnet: true });
    expect(r.ex.environment).toBe('testnet');
    expect(r.ex.status().detail).toMatch(/^connected to Bybit USDT perps testnet via http:\/\/127.0.0.1:\d+$/);
    const urls = r.ccxt.urls as unknown as {
      apiBackup?: Record<string, string>;
      apiBackupDemoTrading?: unknown;
      api: Record<string, unknown>;
    };
    expect(urls.apiBackup?.['private']).toBe('https://api.{hostname}'); // swapped for the sandbox ones (then for the fake)
    expect(urls.apiBackupDemoTrading).toBeUndefined();
    expect(new ccxt.bybit().urls['test']).toMatchObject({ private: 'https://api-testnet.{hostname}' });
    expect(r.ccxt.options['enableDemoTrading']).toBe(false);
    const clock = new TestClock();
    const fake = await makeFake('spot', clock, { apiKey: 'the-right-key-000000' });
    await expect(rig('spot', { fakeInstance: fake, clock })).rejects.toThrow(
      /Bybit spot LIVE via http:\/\/127.0.0.1:\d+ rejected the API keys: API key is invalid. \(code 10003\).*exchange.testnet is false: use live API keys/,
    );
    await expect(rig('spot', { fakeInstance: fake, clock, testnet: true })).rejects.toThrow(
      /Bybit spot testnet via .* rejected the API keys.*use API keys created on testnet.bybit.com/,
    );
  });
});

// ---- the engine on top -------------------------------------------------------------------------------

describe('engine + journal + adapter + fake Bybit (linear), under faults', () => {
  test('every orderLinkId sent once, every execution journaled once, position and wallet equal the venue', async () => {
    const clock = new TestClock();
    const r = await rig('perp', { clock, websocket: true });
    await r.fake.streamReady();
    const journal = Journal.memory();
    const alerts = new MemoryAlertSink();
    const engine = idleEngine({ clock, journal, exchange: r.ex, alerts, marketType: 'perp', leverage: 5 });
    const t0 = Math.floor(clock.now() / 60_000) * 60_000 - 60_000;
    const c: Candle = { ts: t0, open: 30_000, high: 30_010, low: 29_990, close: 30_000, volume: 10 };
    engine.onCandle('BTC/USDT', c);
    const settled = (): boolean => [...engine.liveOrders.values()].every((o) => o.status === 'open');
    const buy = (qty: number, price?: number) =>
      engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty, ...(price ? { price } : {}) }, 'test').order!;

    // 1. timeout after accept (market)
    r.fake.inject({
      kind: 'acceptThenHang',
      method: 'POST',
      path: '/v5/order/create',
      match: (p) => p['orderType'] === 'Market' && p['qty'] === '0.01',
    });
    const o1 = buy(0.01);
    // 2. a gateway 503 after accept (resting limit), then partial fills over price steps
    r.fake.inject({
      kind: 'acceptThenStatus',
      status: 503,
      method: 'POST',
      path: '/v5/order/create',
      match: (p) => p['orderType'] === 'Limit',
    });
    const o2 = buy(0.01, 29_900);
    // 3. never reached (dropped before the venue)
    r.fake.inject({ kind: 'drop', method: 'POST', path: '/v5/order/create', match: (p) => p['qty'] === '0.003' });
    const o3 = buy(0.003);
    // 4. rate-limited (10006)
    r.fake.inject({
      kind: 'status',
      status: 200,
      method: 'POST',
      path: '/v5/order/create',
      match: (p) => p['qty'] === '0.004',
      headers: { 'X-Bapi-Limit-Reset-Timestamp': String(clock.now() + 1000) },
      body: bybitError(10006, 'Too many visits!'),
    });
    const o4 = buy(0.004);
    await until(() => [o1, o2, o3, o4].every((o) => o.status !== 'submitted' && o.status !== 'unknown'), 'resolved', 8000);
    expect([o1.status, o2.status, o3.status, o4.status]).toEqual(['filled', 'open', 'rejected', 'rejected']);
    r.fake.book.liquidity.set('BTCUSDT', 0.004);
    for (const p of [29_850, 29_800, 29_850]) {
      r.fake.setPrice('BTCUSDT', p);
      await realSleep(40);
    }
    await until(() => o2.status === 'filled', 'o2 filled');
    // 5. reduce the long while the stream is silent (polling only), then a funding settlement
    r.fake.streamSilent = true;
    r.fake.book.liquidity.delete('BTCUSDT');
    expect(engine.portfolio.positions.get('BTC/USDT')!.qty).toBeCloseTo(0.02, 9);
    const sell = engine.manualOrder({ symbol: 'BTC/USDT', side: 'sell', qty: 0.015 }, 'test').order!;
    await until(() => sell.status === 'filled' && settled(), 'sell filled');
    expect(createOf(r.fake, sell.clientOrderId)).toMatchObject({ side: 'Sell', reduceOnly: 'true' });
    const funding = r.fake.fund('BTCUSDT', 0.0001)!;
    clock.advance(61_000); // the funding poll runs every minute
    const wallet = (): number => r.fake.book.bal('USDT').free;
    await until(() => journal.fills().length === 5 && Math.abs(engine.portfolio.cash - wallet()) < 1e-6, 'fills and funding journaled');
    await realSleep(100);

    // No orderLinkId was sent twice.
    const sent = r.fake.sentClientOrderIds();
    expect(sent.length).toBe(new Set(sent).size);
    expect(sent.length).toBe(5);
    // Every execution journaled exactly once.
    expect(
      journal
        .fills()
        .map((f) => f.tradeId)
        .sort(),
    ).toEqual(
      r.fake
        .executionIds()
        .map((id) => `BTCUSDT:${id}`)
        .sort(),
    );
    expect(journal.fills()).toHaveLength(1 + 3 + 1);
    // The journal's books equal the venue's: position, and the wallet (fees, realized PnL, funding).
    const venuePos = r.fake.book.positions.get('BTCUSDT')!;
    expect(engine.portfolio.positions.get('BTC/USDT')!.qty).toBeCloseTo(venuePos.qty, 9);
    expect(engine.portfolio.cash).toBeCloseTo(wallet(), 6);
    expect(funding.amount).toBeLessThan(0); // the long paid
    expect(journal.cashFlows().funding).toBeCloseTo(funding.amount, 9); // journaled once
    expect(journal.fundingPayments(0).map((f) => f.rate)).toEqual([0.0001]); // with the rate it settled at
    const rec = await new Reconciler(engine, journal, r.ex, alerts, silentLogger(), clock, {
      inFlightGraceMs: RECV + RESOLVE_MARGIN_MS,
    }).run('test');
    expect(rec.status).toBe('ok');
    expect(rec.summary).toBe('journal matches the venue');
    expect(journal.getOrder(o3.clientOrderId)!.reason).toMatch(/never reached the venue/);
    expect(journal.getOrder(o4.clientOrderId)!.reason).toMatch(/rate-limited/);
  });
});

// ---- garbage answers and rate-limit pauses (issue 7, items 3–4): the same request gate as Binance ----

describe('garbage answers and rate-limit pauses', () => {
  test('a 200 whose body is an HTML page or {} on the wallet is retried, never read as an empty account', async () => {
    const r = await rig('perp', { noPolling: true });
    const n = r.fake.find('/v5/account/wallet-balance').length;
    r.fake.inject({ kind: 'status', status: 200, path: '/v5/account/wallet-balance', body: '<html><body>maintenance</body></html>' });
    r.fake.inject({ kind: 'status', status: 200, path: '/v5/account/wallet-balance', body: {} });
    expect(await r.ex.fetchBalances()).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    expect(r.fake.find('/v5/account/wallet-balance').length - n).toBe(3);
    r.fake.inject({
      kind: 'status',
      status: 200,
      path: '/v5/account/wallet-balance',
      body: { retCode: 0, retMsg: 'OK', result: {} },
      times: Infinity,
    });
    await expect(r.ex.fetchBalances()).rejects.toThrow(/not a well-formed answer \(result\.list: /);
  });

  test('10006 with X-Bapi-Limit-Reset-Timestamp: no request at all until the reset (reads, polls, reconciliation, orders)', async () => {
    const clock = new TestClock();
    const c = new ccxt.pro.bybit({ enableRateLimit: true });
    c.timeout = 2000;
    const r = await rig('spot', { clock, exchange: c, pollMs: 150, sleep: (ms) => realSleep(ms) });
    const journal = Journal.memory();
    const alerts = new MemoryAlertSink();
    const engine = idleEngine({ clock, journal, exchange: r.ex, alerts, marketType: 'spot' });
    engine.onCandle('BTC/USDT', {
      ts: Math.floor(clock.now() / 60_000) * 60_000 - 60_000,
      open: 30_000,
      high: 30_000,
      low: 30_000,
      close: 30_000,
      volume: 1,
    });
    const l = engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.01, price: 29_000 }, 'test').order!;
    await until(() => l.status === 'open', 'resting limit', 5000);
    const reconciler = new Reconciler(engine, journal, r.ex, alerts, silentLogger(), clock, { inFlightGraceMs: RECV + RESOLVE_MARGIN_MS });
    const reset = clock.now() + 3000;
    r.fake.inject({
      kind: 'status',
      status: 200,
      path: '/v5/account/wallet-balance',
      headers: { 'X-Bapi-Limit': '10', 'X-Bapi-Limit-Status': '0', 'X-Bapi-Limit-Reset-Timestamp': String(reset) },
      body: bybitError(10006, 'Too many visits!'),
    });
    const burst = Promise.all([
      r.ex.fetchBalances(),
      r.ex.fetchOpenOrders(),
      r.ex.fetchFills('BTC/USDT', clock.now() - 60_000),
      reconciler.run('timer'),
    ]);
    await until(() => r.fake.find('/v5/account/wallet-balance').some((q) => q.outcome === 'status'), '10006', 5000);
    const t = r.fake.find('/v5/account/wallet-balance').find((q) => q.outcome === 'status')!.ts;
    const m = engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.001, price: 28_000 }, 'test').order!;
    const [, , , rep] = await burst;
    expect(rep.status).not.toBe('failed');
    await until(() => m.status === 'open', 'sent after the pause', 5000);
    // (A request already on its way when the answer came may land just after it: 300 ms of slack.)
    expect(r.fake.requests.filter((q) => q.ts > t + 300 && q.ts < reset).map((q) => `${q.method} ${q.path} +${q.ts - t} ms`)).toEqual([]);
    expect(r.fake.find('/v5/order/create', 'POST').at(-1)!.ts).toBeGreaterThanOrEqual(reset);
  }, 20_000);
});
