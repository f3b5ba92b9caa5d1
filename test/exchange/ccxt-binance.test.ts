// The live adapter (src/exchange/ccxt/) with the REAL ccxt against a local fake Binance
// (test/fakes/exchange/binance.ts): spot and USDⓈ-M, order mapping, faults, streams, and an engine
// on top. No network. Time: one TestClock (wall time + an offset) drives the adapter, the engine and
// the fake's order/trade times and request log; the adapter's injected sleep advances it and sleeps
// only a few real ms, so recvWindow deadlines and Retry-After waits pass quickly but measurably.

import ccxt from 'ccxt';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import { UserError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Candle } from '../../src/core/types.ts';
import { Reconciler } from '../../src/engine/reconcile.ts';
import { RESOLVE_MARGIN_MS, clean } from '../../src/exchange/ccxt/index.ts';
import { Journal } from '../../src/journal/journal.ts';
import type { FakeBinance } from '../fakes/exchange/binance.ts';
import {
  ccxtRig,
  closeRigs,
  makeFake as makeVenueFake,
  RIG_KEYS,
  RIG_RECV_MS,
  type FakeOptionsOf,
  type RigOptions,
} from '../helpers/ccxt-rig.ts';
import { nextOrder } from '../helpers/orders.ts';
import { idleEngine, TestClock, realSleep, until } from '../helpers/venue-time.ts';

const RECV = RIG_RECV_MS;
const SECRET = RIG_KEYS.binance.secret;

afterEach(closeRigs);
const makeFake = (type: 'spot' | 'perp', clock: TestClock, fake: Partial<FakeOptionsOf<'binance'>> = {}) =>
  makeVenueFake('binance', type, clock, fake);
const rig = (type: 'spot' | 'perp', opts: RigOptions<'binance'> = {}) => ccxtRig('binance', type, opts);

const order = nextOrder;

const posts = (fake: FakeBinance): Array<Record<string, string>> =>
  fake.requests.filter((r) => r.method === 'POST' && /\/(order|algoOrder)$/.test(r.path)).map((r) => r.params);
const sentOnce = (fake: FakeBinance, coid: string): number => fake.sentClientOrderIds().filter((c) => c === coid).length;

// ---- markets, balances, mapping --------------------------------------------------------------------

describe('spot: markets, balances, order mapping', () => {
  test('market() is provisional before connect and the venue’s after; connect makes only the needed calls', async () => {
    const r = await rig('spot', { connect: false });
    expect(r.ex.market('BTC/USDT')).toMatchObject({ qtyStep: 0.00001, minNotional: 5 }); // defaultMarket
    await r.ex.connect();
    expect(r.ex.market('BTC/USDT')).toEqual({
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      type: 'spot',
      qtyStep: 0.001,
      priceStep: 0.1,
      minQty: 0.001,
      minNotional: 5,
      maxLeverage: 1,
    });
    // One exchangeInfo (spot only), the time offset, one signed call to check the keys; no sapi.
    expect(r.fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /api/v3/exchangeInfo',
      'GET /api/v3/time',
      'GET /api/v3/account',
    ]);
    expect(r.ex.status()).toMatchObject({ up: true });
    expect(r.ex.status().detail).toMatch(/Binance spot LIVE/);
    const bal = await r.ex.fetchBalances();
    expect(bal).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    expect(await r.ex.fetchPositions()).toEqual([]);
    expect(await r.ex.fetchFundingRate('BTC/USDT')).toBeNull();
    // The fake also serves candles (a live feed may share it).
    expect(await r.ccxt.fetchOHLCV('BTC/USDT', '1m', undefined, 3)).toHaveLength(3);
  });

  test('too small orders are rejected locally with the reason and never sent', async () => {
    const r = await rig('spot');
    const tiny = order({ type: 'limit', price: 1000, qty: 0.001 }); // 1 USDT < 5
    const dust = order({ qty: 0.0004 }); // below min qty
    const badId = order({ clientOrderId: 'sk-' + 'x'.repeat(40) });
    const cheap = order({ qty: 0.001 }); // market: priced with the ticker
    r.fake.setPrice('BTCUSDT', 3000); // 0.001 × 3000 = 3 < 5
    for (const o of [tiny, dust, badId, cheap]) r.ex.submit(o);
    await until(() => [tiny, dust, badId, cheap].every((o) => r.rec.last(o.clientOrderId)?.status === 'rejected'), 'local rejects');
    expect(r.rec.last(tiny.clientOrderId)!.reason).toBe('order value 1 USDT is below the venue minimum 5 USDT');
    expect(r.rec.last(dust.clientOrderId)!.reason).toMatch(/quantity 0.0004 is below the venue minimum 0.001 BTC/);
    expect(r.rec.last(badId.clientOrderId)!.reason).toMatch(/client order id .* is not valid for Binance/);
    expect(r.rec.last(cheap.clientOrderId)!.reason).toBe('order value 3 USDT is below the venue minimum 5 USDT');
    expect(posts(r.fake)).toHaveLength(0);
  });

  test('each order type maps to the parameters Binance spot expects', async () => {
    const r = await rig('spot', { fake: { balances: { USDT: 10_000, BTC: 0.01 } } });
    const m = order({ type: 'market', qty: 0.01 });
    const q = order({ type: 'market', qty: undefined, quoteQty: 100 });
    const l = order({ type: 'limit', price: 29_000.04, qty: 0.0105 }); // price and qty rounded to the filters
    const ioc = order({ type: 'limit', price: 29_000, tif: 'IOC' });
    const po = order({ type: 'limit', price: 29_000, tif: 'PO' });
    const sm = order({ type: 'stop_market', side: 'sell', stopPrice: 28_000, qty: 0.005, reduceOnly: true });
    const sl = order({ type: 'stop_limit', side: 'sell', stopPrice: 28_000, price: 27_900, qty: 0.005 });
    for (const o of [m, q, l, ioc, po, sm, sl]) r.ex.submit(o);
    await until(() => posts(r.fake).length === 7 && r.rec.updates.length >= 7, 'all sent');
    const by = (coid: string) => posts(r.fake).find((p) => p['newClientOrderId'] === coid)!;
    const common = { symbol: 'BTCUSDT', newOrderRespType: 'FULL' };
    expect(by(m.clientOrderId)).toMatchObject({ ...common, type: 'MARKET', side: 'BUY', quantity: '0.01' });
    expect(by(m.clientOrderId)).not.toHaveProperty('timeInForce');
    expect(by(q.clientOrderId)).toMatchObject({ type: 'MARKET', quoteOrderQty: '100' });
    expect(by(q.clientOrderId)).not.toHaveProperty('quantity');
    expect(by(l.clientOrderId)).toMatchObject({ type: 'LIMIT', timeInForce: 'GTC', price: '29000', quantity: '0.01' });
    expect(by(ioc.clientOrderId)).toMatchObject({ type: 'LIMIT', timeInForce: 'IOC' });
    expect(by(po.clientOrderId)).toMatchObject({ type: 'LIMIT_MAKER', price: '29000' });
    expect(by(po.clientOrderId)).not.toHaveProperty('timeInForce');
    expect(by(sm.clientOrderId)).toMatchObject({ type: 'STOP_LOSS', side: 'SELL', stopPrice: '28000', quantity: '0.005' });
    expect(by(sm.clientOrderId)).not.toHaveProperty('reduceOnly'); // spot has none
    expect(by(sl.clientOrderId)).toMatchObject({ type: 'STOP_LOSS_LIMIT', stopPrice: '28000', price: '27900', timeInForce: 'GTC' });
    await until(() => r.rec.last(sl.clientOrderId)?.status === 'open', 'stop-limit open');
    // What happened to them: market orders filled (with their FULL-response trades), limits rest.
    expect(r.rec.last(m.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 0.01 });
    expect(r.rec.fillsOf(m.clientOrderId)).toEqual([
      expect.objectContaining({
        symbol: 'BTC/USDT',
        side: 'buy',
        qty: 0.01,
        price: 30_000,
        fee: 0.3,
        feeCurrency: 'USDT',
        liquidity: 'taker',
      }),
    ]);
    expect(r.rec.last(q.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 0.003 });
    expect(r.rec.last(l.clientOrderId)?.status).toBe('open');
    expect(r.rec.last(ioc.clientOrderId)?.status).toBe('expired');
    expect(r.rec.last(sm.clientOrderId)?.status).toBe('open');
    // The venue view.
    const openOrders = await r.ex.fetchOpenOrders();
    expect(openOrders.map((o) => [o.clientOrderId, o.type, o.status])).toEqual([
      [l.clientOrderId, 'limit', 'open'],
      [po.clientOrderId, 'limit', 'open'],
      [sm.clientOrderId, 'stop_market', 'open'],
      [sl.clientOrderId, 'stop_limit', 'open'],
    ]);
    expect(openOrders[2]).toMatchObject({ stopPrice: 28_000, qty: 0.005, side: 'sell' });
    // Every order went out exactly once.
    expect(new Set(r.fake.sentClientOrderIds()).size).toBe(7);
  });

  test('a stop triggers on the price path; cancel by client order id; cancelling a gone order reports its final state', async () => {
    const r = await rig('spot', { fake: { balances: { USDT: 10_000, BTC: 1 } } });
    const stop = order({ type: 'stop_market', side: 'sell', stopPrice: 29_000, qty: 0.01 });
    const limit = order({ type: 'limit', price: 25_000 });
    r.ex.submit(stop);
    r.ex.submit(limit);
    await until(() => r.rec.last(stop.clientOrderId)?.status === 'open' && r.rec.last(limit.clientOrderId)?.status === 'open', 'resting');
    r.ex.cancel({ ...limit, status: 'open' });
    await until(() => r.rec.last(limit.clientOrderId)?.status === 'cancelled', 'cancelled');
    expect(r.rec.last(limit.clientOrderId)!.reason).toBe('cancelled on request');
    expect(r.fake.find('/api/v3/order', 'DELETE')[0]!.params).toMatchObject({ origClientOrderId: limit.clientOrderId, symbol: 'BTCUSDT' });
    r.fake.setPrice('BTCUSDT', 28_950);
    await until(() => r.rec.last(stop.clientOrderId)?.status === 'filled', 'stop filled');
    expect(r.rec.fillsOf(stop.clientOrderId)).toEqual([expect.objectContaining({ side: 'sell', price: 28_950, qty: 0.01 })]);
    // Cancelling it now: "Unknown order sent." → looked up → already filled, nothing else reported.
    const before = r.rec.updates.length;
    r.ex.cancel({ ...stop, status: 'open' });
    await until(() => r.fake.find('/api/v3/order', 'GET').length > 0, 'lookup after unknown cancel');
    await realSleep(30);
    expect(r.rec.updates.length).toBe(before);
    expect(r.rec.fills).toHaveLength(1);
  });

  test('fees: quote as is, base × price (a base fee on a buy nets the quantity), BNB recorded as 0', async () => {
    const base = await rig('spot', { fake: { feeAsset: 'base' } });
    const o = order();
    base.ex.submit(o);
    await until(() => base.rec.fillsOf(o.clientOrderId).length === 1, 'fill');
    expect(base.rec.fills[0]!.fee).toBeCloseTo(0.00001 * 30_000, 9); // 0.1% of 0.01 BTC, in USDT
    // The account received 0.01 − 0.00001 BTC: the fill books exactly that, so holdings reconcile.
    expect(base.rec.fills[0]!.qty).toBeCloseTo(0.01 - 0.00001, 12);
    const btc = (await base.ex.fetchBalances()).find((b) => b.asset === 'BTC')!;
    expect(btc.free + btc.locked).toBeCloseTo(base.rec.fills[0]!.qty, 12);
    const bnb = await rig('spot', { fake: { feeAsset: 'BNB', balances: { USDT: 10_000, BNB: 1 } } });
    const p = order();
    bnb.ex.submit(p);
    await until(() => bnb.rec.fillsOf(p.clientOrderId).length === 1, 'fill');
    expect(bnb.rec.fills[0]).toMatchObject({ fee: 0, feeCurrency: 'USDT' });
  });
});

describe('USDⓈ-M perps', () => {
  test('connect sets margin mode and leverage; "no need to change" is fine', async () => {
    const r = await rig('perp');
    expect(r.ex.market('BTC/USDT')).toMatchObject({ type: 'perp', qtyStep: 0.001, priceStep: 0.1, minNotional: 5 });
    expect(r.fake.find('/fapi/v1/marginType')[0]!.params).toMatchObject({ symbol: 'BTCUSDT', marginType: 'ISOLATED' });
    expect(r.fake.find('/fapi/v1/leverage')[0]!.params).toMatchObject({ symbol: 'BTCUSDT', leverage: '5' });
    expect(r.fake.book.leverage.get('BTCUSDT')).toBe(5);
    expect(r.fake.find('/fapi/v1/exchangeInfo')).toHaveLength(1);
    expect(r.fake.find('/api/*')).toHaveLength(0);
    // A second process: the margin type is already isolated (-4046) — not an error.
    const again = await rig('perp', { fakeInstance: r.fake, clock: r.clock });
    expect(again.ex.status().up).toBe(true);
    expect(again.rec.alerts).toEqual([]);
  });

  test('order mapping: reduce-only, post-only (GTX), stops go to the algo service', async () => {
    const r = await rig('perp');
    const m = order({ qty: 0.01 });
    r.ex.submit(m);
    await until(() => r.rec.last(m.clientOrderId)?.status === 'filled', 'entry');
    const ro = order({ side: 'sell', qty: 0.004, reduceOnly: true });
    const po = order({ type: 'limit', price: 29_000, tif: 'PO' });
    const ioc = order({ type: 'limit', price: 29_000, tif: 'IOC' });
    const sm = order({ type: 'stop_market', side: 'sell', stopPrice: 29_000, qty: 0.006, reduceOnly: true });
    const sl = order({ type: 'stop_limit', side: 'buy', stopPrice: 31_000, price: 31_100 });
    for (const o of [ro, po, ioc, sm, sl]) r.ex.submit(o);
    await until(() => [ro, po, ioc, sm, sl].every((o) => r.rec.last(o.clientOrderId) !== undefined), 'answers');
    const by = (coid: string) =>
      r.fake.requests.find((q) => q.method === 'POST' && (q.params['newClientOrderId'] === coid || q.params['clientAlgoId'] === coid))!;
    expect(by(m.clientOrderId)).toMatchObject({
      path: '/fapi/v1/order',
      params: expect.objectContaining({ type: 'MARKET', quantity: '0.01', newOrderRespType: 'RESULT' }),
    });
    expect(by(ro.clientOrderId).params).toMatchObject({ type: 'MARKET', side: 'SELL', reduceOnly: 'true' });
    expect(by(po.clientOrderId).params).toMatchObject({ type: 'LIMIT', timeInForce: 'GTX', price: '29000' });
    expect(by(ioc.clientOrderId).params).toMatchObject({ type: 'LIMIT', timeInForce: 'IOC' });
    expect(by(sm.clientOrderId)).toMatchObject({
      path: '/fapi/v1/algoOrder',
      params: expect.objectContaining({
        algoType: 'CONDITIONAL',
        type: 'STOP_MARKET',
        triggerPrice: '29000',
        reduceOnly: 'true',
        quantity: '0.006',
      }),
    });
    expect(by(sl.clientOrderId)).toMatchObject({
      path: '/fapi/v1/algoOrder',
      params: expect.objectContaining({ type: 'STOP', triggerPrice: '31000', price: '31100' }),
    });
    expect(r.rec.last(ro.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 0.004 });
    expect(r.rec.last(po.clientOrderId)?.status).toBe('open');
    expect(r.rec.last(ioc.clientOrderId)?.status).toBe('expired');
    expect(r.rec.last(sm.clientOrderId)?.status).toBe('open');
    // Open orders include the conditional ones, with our types.
    const oo = await r.ex.fetchOpenOrders('BTC/USDT');
    expect(oo.map((o) => [o.clientOrderId, o.type])).toEqual(
      expect.arrayContaining([
        [po.clientOrderId, 'limit'],
        [sm.clientOrderId, 'stop_market'],
        [sl.clientOrderId, 'stop_limit'],
      ]),
    );
    // The stop triggers: the algo order becomes a regular order with another id; its trade is ours.
    r.fake.setPrice('BTCUSDT', 28_990);
    await until(() => r.rec.last(sm.clientOrderId)?.status === 'filled', 'stop filled');
    expect(r.rec.fillsOf(sm.clientOrderId)).toEqual([expect.objectContaining({ side: 'sell', qty: 0.006, price: 28_990 })]);
    const v = await r.ex.fetchOrder(sm.clientOrderId, 'BTC/USDT');
    expect(v).toMatchObject({ status: 'filled', filledQty: 0.006, type: 'stop_market' });
    // Cancel a conditional by client id (DELETE /fapi/v1/algoOrder clientAlgoId).
    r.ex.cancel({ ...sl, status: 'open' });
    await until(() => r.rec.last(sl.clientOrderId)?.status === 'cancelled', 'algo cancelled');
    expect(r.fake.find('/fapi/v1/algoOrder', 'DELETE')[0]!.params).toMatchObject({ clientAlgoId: sl.clientOrderId });
  });

  test('positions, balances, funding rate, open interest and funding payments', async () => {
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
    const bal = await r.ex.fetchBalances();
    const usdt = bal.find((b) => b.asset === 'USDT')!;
    expect(usdt.free + usdt.locked).toBeCloseTo(10_000 - 0.6, 6); // wallet: the taker fee paid, no unrealized PnL
    expect(usdt.locked).toBeCloseTo((0.02 * 30_000) / 5, 6);
    expect(await r.ex.fetchFundingRate('BTC/USDT')).toEqual({ rate: 0.0001, nextTs: expect.any(Number) });
    expect(await r.ex.fetchOpenInterest('BTC/USDT')).toBe(12345.678);
    const since = r.clock.now() - 1;
    const paid = r.fake.fund('BTCUSDT', 0.0001)!;
    const list = await r.ex.fetchFunding('BTC/USDT', since);
    expect(list).toEqual([{ paymentId: String(paid.tranId), symbol: 'BTC/USDT', amount: -0.062, ts: paid.time }]);
    // The poller reports it once through onFunding (it looks every minute: let the clock run).
    r.clock.advance(61_000);
    await until(() => r.rec.funding.length === 1, 'funding event');
    r.clock.advance(61_000);
    await realSleep(50);
    expect(r.rec.funding).toHaveLength(1);
  });
});

// ---- faults --------------------------------------------------------------------------------------

describe('faults on createOrder', () => {
  test('timeout after the venue accepted: unknown → resolved to filled, never sent twice', async () => {
    const r = await rig('spot');
    r.fake.inject({ kind: 'acceptThenHang', method: 'POST', path: '/api/v3/order' });
    const o = order();
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'resolved');
    expect(r.rec.statuses(o.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(r.rec.of(o.clientOrderId)[0]!.reason).toMatch(/no answer from the venue \(.*timed out.*\): looking the order up/);
    expect(r.rec.fillsOf(o.clientOrderId)).toHaveLength(1);
    expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    expect(r.fake.find('/api/v3/order', 'GET').some((q) => q.params['origClientOrderId'] === o.clientOrderId)).toBe(true);
  });

  test('dropped connection after accept (a resting limit): unknown → open; 5xx after accept → unknown → filled', async () => {
    const r = await rig('spot');
    r.fake.inject({ kind: 'acceptThenDrop', method: 'POST', path: '/api/v3/order' });
    const l = order({ type: 'limit', price: 29_000 });
    r.ex.submit(l);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'open', 'open');
    expect(r.rec.statuses(l.clientOrderId)).toEqual(['unknown', 'open']);
    expect(r.rec.last(l.clientOrderId)!.exchangeOrderId).toBe(String(r.fake.order(l.clientOrderId)!.id));
    r.fake.inject({ kind: 'acceptThenStatus', status: 503, method: 'POST', path: '/api/v3/order' });
    const m = order();
    r.ex.submit(m);
    await until(() => r.rec.last(m.clientOrderId)?.status === 'filled', 'filled');
    expect(r.rec.statuses(m.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(sentOnce(r.fake, l.clientOrderId)).toBe(1);
    expect(sentOnce(r.fake, m.clientOrderId)).toBe(1);
    // A slow answer within the timeout is just an answer.
    r.fake.inject({ kind: 'delay', ms: 100, method: 'POST', path: '/api/v3/order' });
    const slow = order();
    r.ex.submit(slow);
    await until(() => r.rec.last(slow.clientOrderId)?.status === 'filled', 'slow filled');
    expect(r.rec.statuses(slow.clientOrderId)).toEqual(['filled']);
  });

  test('a create that never reached the venue is rejected only after recvWindow (+ margin) has passed', async () => {
    const r = await rig('spot');
    r.fake.inject({ kind: 'drop', method: 'POST', path: '/api/v3/order' });
    r.fake.inject({ kind: 'status', status: 502, method: 'POST', path: '/api/v3/order', body: '<html>Bad Gateway</html>' });
    const a = order();
    const b = order();
    r.ex.submit(a);
    await until(() => r.rec.last(a.clientOrderId)?.status === 'rejected', 'a rejected');
    r.ex.submit(b);
    await until(() => r.rec.last(b.clientOrderId)?.status === 'rejected', 'b rejected');
    for (const o of [a, b]) {
      const ups = r.rec.of(o.clientOrderId);
      expect(ups.map((u) => u.status)).toEqual(['unknown', 'rejected']);
      const sentAt = r.fake.find('/api/v3/order', 'POST').find((q) => q.params['newClientOrderId'] === o.clientOrderId)!.ts;
      expect(ups[1]!.ts - sentAt).toBeGreaterThanOrEqual(RECV + RESOLVE_MARGIN_MS);
      expect(ups[1]!.reason).toMatch(/^never reached the venue \(not found \d+ s after sending, past the 2000 ms recvWindow\)$/);
      expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
      // It was looked up more than once before giving up, by client order id.
      const lookups = r.fake.find('/api/v3/order', 'GET').filter((q) => q.params['origClientOrderId'] === o.clientOrderId);
      expect(lookups.length).toBeGreaterThan(1);
      expect(lookups.some((q) => q.ts < sentAt + RECV + RESOLVE_MARGIN_MS)).toBe(true); // "not found" early did not decide
    }
  });

  test('unresolvable (the venue keeps failing): critical alert, stays unknown, the poller resolves it later', async () => {
    const r = await rig('spot');
    r.fake.inject({ kind: 'acceptThenDrop', method: 'POST', path: '/api/v3/order' });
    r.fake.inject({ kind: 'status', status: 503, path: '/api/v3/order', method: 'GET', times: Infinity });
    r.fake.inject({ kind: 'status', status: 503, path: '/api/v3/openOrders', times: Infinity });
    const o = order({ type: 'limit', price: 29_000 });
    r.ex.submit(o);
    await until(() => r.rec.alerts.some((a) => a.severity === 'critical' && a.title.includes(o.clientOrderId)), 'stuck alert');
    expect(r.rec.statuses(o.clientOrderId)).toEqual(['unknown']);
    // The poller failed too: the venue is reported down (once), with the reason.
    await until(() => r.rec.connections.some(([up]) => !up), 'down');
    expect(r.ex.status()).toMatchObject({ up: false });
    expect(r.ex.status().detail).toBe('Binance unreachable (last error: fake failure (code -1000))');
    expect(r.rec.alerts.filter((a) => a.type === 'exchange_down' && a.severity === 'warning')).toHaveLength(1);
    // The venue recovers: the polling loop finds it in the open orders, and says it is back (the engine reconciles).
    r.fake.http.clearFaults();
    await until(() => r.rec.last(o.clientOrderId)?.status === 'open', 'open');
    expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    expect(r.rec.connections.at(-1)).toEqual([true, 'Binance reachable again']);
    expect(r.rec.alerts.at(-1)).toMatchObject({ type: 'exchange_up' });
    expect(r.ex.status().up).toBe(true);
  });

  test('429 and 418: wait at least Retry-After, slow down, never re-send', async () => {
    const r = await rig('spot', { noPolling: true });
    r.fake.inject({
      kind: 'status',
      status: 429,
      method: 'POST',
      path: '/api/v3/order',
      headers: { 'Retry-After': '3' },
      body: { code: -1003, msg: 'Too many requests.' },
    });
    const o = order();
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'rejected', 'rejected');
    expect(r.rec.statuses(o.clientOrderId)).toEqual(['unknown', 'rejected']);
    expect(r.rec.last(o.clientOrderId)!.reason).toBe('rate-limited by the venue (HTTP 429): not placed');
    const i429 = r.fake.requests.findIndex((q) => q.method === 'POST' && q.path === '/api/v3/order');
    const t429 = r.fake.requests[i429]!.ts;
    const after = r.fake.requests.slice(i429 + 1);
    // Nothing went out for 3 s; then one look by client order id (and the open orders / trades check).
    expect(after[0]).toMatchObject({
      method: 'GET',
      path: '/api/v3/order',
      params: expect.objectContaining({ origClientOrderId: o.clientOrderId }),
    });
    expect(after.every((q) => q.ts - t429 >= 3000)).toBe(true);
    expect(after.some((q) => q.method === 'POST')).toBe(false);
    expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    expect(r.ccxt.rateLimit).toBe(4 * 50); // slowed down
    expect(r.rec.alerts.find((a) => a.title.includes('429'))).toMatchObject({ severity: 'warning' });

    r.fake.inject({
      kind: 'status',
      status: 418,
      method: 'POST',
      path: '/api/v3/order',
      headers: { 'Retry-After': '5' },
      body: { code: -1003, msg: 'Way too many requests; IP banned.' },
    });
    const p = order();
    let release = (): void => undefined;
    r.hold.until = new Promise((res) => (release = res));
    r.ex.submit(p);
    await until(() => r.rec.statuses(p.clientOrderId).includes('unknown'), 'unknown');
    expect(r.ex.status().detail).toMatch(/rate-limited by Binance until \d\d:\d\d:\d\d UTC/);
    r.hold.until = null;
    release();
    await until(() => r.rec.last(p.clientOrderId)?.status === 'rejected', '418 rejected');
    const i418 = r.fake.requests.findIndex((q) => q.method === 'POST' && q.params['newClientOrderId'] === p.clientOrderId);
    expect(r.fake.requests[i418 + 1]!.ts - r.fake.requests[i418]!.ts).toBeGreaterThanOrEqual(5000);
    expect(r.rec.alerts.find((a) => a.title.includes('418'))).toMatchObject({ severity: 'critical' });
    expect(sentOnce(r.fake, p.clientOrderId)).toBe(1);
    // The slowdown ends a minute after the wait (checked at the next request).
    r.clock.advance(70_000);
    await r.ex.fetchBalances();
    expect(r.ccxt.rateLimit).toBe(50);
  });

  test('definite refusals: rejected with the venue’s words; clock and auth problems alert', async () => {
    const r = await rig('spot');
    const big = order({ qty: 1 }); // 30 000 USDT > 10 000
    r.ex.submit(big);
    await until(() => r.rec.last(big.clientOrderId)?.status === 'rejected', 'insufficient');
    expect(r.rec.last(big.clientOrderId)!.reason).toBe('Account has insufficient balance for requested action.');
    r.fake.inject({
      kind: 'status',
      status: 400,
      method: 'POST',
      path: '/api/v3/order',
      body: { code: -1013, msg: 'Filter failure: NOTIONAL' },
    });
    const n = order();
    r.ex.submit(n);
    await until(() => r.rec.last(n.clientOrderId)?.status === 'rejected', 'notional');
    expect(r.rec.last(n.clientOrderId)!.reason).toBe('Filter failure: NOTIONAL (code -1013)');
    expect(r.rec.alerts).toEqual([]);
    r.fake.inject({
      kind: 'status',
      status: 400,
      method: 'POST',
      path: '/api/v3/order',
      body: { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' },
    });
    const ts = order();
    r.ex.submit(ts);
    await until(() => r.rec.last(ts.clientOrderId)?.status === 'rejected', 'timestamp');
    expect(r.rec.last(ts.clientOrderId)!.reason).toBe(
      'the venue refused the request time: Timestamp for this request is outside of the recvWindow. (code -1021)',
    );
    expect(r.rec.alerts.at(-1)).toMatchObject({ severity: 'critical', title: 'Binance: clock out of sync' });
    expect(r.fake.find('/api/v3/time').length).toBe(2); // the offset was measured again
    r.fake.inject({
      kind: 'status',
      status: 401,
      method: 'POST',
      path: '/api/v3/order',
      body: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' },
    });
    const auth = order();
    r.ex.submit(auth);
    await until(() => r.rec.last(auth.clientOrderId)?.status === 'rejected', 'auth');
    expect(r.rec.alerts.at(-1)).toMatchObject({ severity: 'critical', title: 'Binance: API key refused' });
    for (const o of [big, n, ts, auth]) expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
    expect(r.rec.statuses(auth.clientOrderId)).toEqual(['rejected']);
  });

  test('perps: insufficient margin, notional (-4164) and timeout-after-accept on the algo endpoint', async () => {
    const r = await rig('perp');
    const big = order({ qty: 10 });
    r.ex.submit(big);
    r.fake.inject({
      kind: 'status',
      status: 400,
      method: 'POST',
      path: '/fapi/v1/order',
      match: (p) => p['newClientOrderId'] !== big.clientOrderId,
      body: { code: -4164, msg: "Order's notional must be no smaller than 5 (unless you choose reduce only)." },
    });
    const n = order();
    r.ex.submit(n);
    await until(
      () => r.rec.last(big.clientOrderId)?.status === 'rejected' && r.rec.last(n.clientOrderId)?.status === 'rejected',
      'rejects',
    );
    expect(r.rec.last(big.clientOrderId)!.reason).toBe('Margin is insufficient. (code -2019)');
    expect(r.rec.last(n.clientOrderId)!.reason).toMatch(/notional must be no smaller than 5.*\(code -4164\)/);
    const entry = order({ qty: 0.01 });
    r.ex.submit(entry);
    await until(() => r.rec.last(entry.clientOrderId)?.status === 'filled', 'entry');
    r.fake.inject({ kind: 'acceptThenHang', method: 'POST', path: '/fapi/v1/algoOrder' });
    const stop = order({ type: 'stop_market', side: 'sell', stopPrice: 29_000, reduceOnly: true });
    r.ex.submit(stop);
    await until(() => r.rec.last(stop.clientOrderId)?.status === 'open', 'stop resolved');
    expect(r.rec.statuses(stop.clientOrderId)).toEqual(['unknown', 'open']);
    expect(r.fake.find('/fapi/v1/algoOrder', 'GET')[0]!.params).toMatchObject({ clientAlgoId: stop.clientOrderId });
    expect(sentOnce(r.fake, stop.clientOrderId)).toBe(1);
  });
});

describe('partial fills, reads, connect errors', () => {
  test('partial fills across price steps: cumulative updates, each trade exactly once (stream + polling)', async () => {
    const r = await rig('spot', { websocket: true });
    await r.fake.streamReady();
    r.fake.book.liquidity.set('BTCUSDT', 0.004);
    const o = order({ type: 'limit', price: 29_900, qty: 0.01 });
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'open', 'open');
    for (const p of [29_850, 29_800, 29_880]) {
      r.fake.setPrice('BTCUSDT', p);
      await realSleep(60);
    }
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'filled');
    await realSleep(100); // more polls and stream messages: nothing new may come out
    const fills = r.rec.fillsOf(o.clientOrderId);
    expect(fills.map((f) => f.qty)).toEqual([0.004, 0.004, 0.002]);
    expect(new Set(fills.map((f) => f.tradeId)).size).toBe(3);
    expect(fills.map((f) => f.tradeId).sort()).toEqual(r.fake.book.trades.map((t) => `BTCUSDT:${t.id}`).sort());
    const ups = r.rec.of(o.clientOrderId).filter((u) => u.status !== 'open');
    expect(ups.map((u) => [u.status, u.filledQty])).toEqual([
      ['partially_filled', 0.004],
      ['partially_filled', 0.008],
      ['filled', 0.01],
    ]);
    // Fills always before the update that includes them.
    expect(r.rec.fillsFirst(o.clientOrderId)).toBe(true);
  });

  test('websockets: trades arrive by stream alone; a silent stream is covered by polling; a dropped one reconnects', async () => {
    // Slow polling (20 s of sim time = 2 s real): what arrives quickly came from the stream.
    const r = await rig('spot', { websocket: true, pollMs: 20_000, realSleepCap: 2000, realSleepScale: 0.1 });
    await r.fake.streamReady();
    const a = order();
    r.ex.submit(a);
    await until(() => r.rec.fillsOf(a.clientOrderId).length === 1, 'fill', 1500);
    const l = order({ type: 'limit', price: 29_500 });
    r.ex.submit(l);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'open', 'open', 1500);
    r.fake.setPrice('BTCUSDT', 29_400);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'filled', 'stream fill', 1500);
    expect(r.fake.find('/api/v3/myTrades').length).toBeLessThanOrEqual(1); // the poller barely ran
    // Silent stream: polling gets it (within ~one poll).
    r.fake.streamSilent = true;
    const l2 = order({ type: 'limit', price: 29_300 });
    r.ex.submit(l2);
    await until(() => r.rec.last(l2.clientOrderId)?.status === 'open', 'open 2', 1500);
    r.fake.setPrice('BTCUSDT', 29_200);
    await until(() => r.rec.last(l2.clientOrderId)?.status === 'filled', 'polled fill', 3000);
    expect(r.rec.fillsOf(l2.clientOrderId)).toHaveLength(1);
    // Dropped stream: reconnects (with backoff) and, once it delivers again, tells the engine (which reconciles).
    r.fake.streamSilent = false;
    const sockets = r.fake.find('/ws-api/v3').length;
    r.fake.dropStreams();
    await until(() => r.rec.connections.some(([up]) => !up), 'down', 3000);
    expect(r.rec.connections[0]![1]).toMatch(/stream down/);
    await until(() => r.fake.find('/ws-api/v3').length > sockets, 'reconnected', 3000);
    await r.fake.streamReady();
    const b = order();
    r.ex.submit(b);
    await until(() => r.rec.connections.some(([up]) => up), 'up again', 3000);
    expect(r.rec.connections.find(([up]) => up)![1]).toMatch(/stream reconnected/);
    await until(() => r.rec.fillsOf(b.clientOrderId).length === 1, 'fill after reconnect');
  });

  test('perps with the listen-key stream: a triggered stop’s trades belong to the stop, once', async () => {
    const r = await rig('perp', { websocket: true, pollMs: 20_000, realSleepCap: 2000, realSleepScale: 0.1 });
    await r.fake.streamReady();
    expect(r.fake.find('/fapi/v1/listenKey', 'POST')).toHaveLength(1);
    const entry = order({ qty: 0.01 });
    r.ex.submit(entry);
    await until(() => r.rec.last(entry.clientOrderId)?.status === 'filled', 'entry', 3000);
    const stop = order({ type: 'stop_market', side: 'sell', stopPrice: 29_500, qty: 0.01, reduceOnly: true });
    r.ex.submit(stop);
    await until(() => r.rec.last(stop.clientOrderId)?.status === 'open', 'stop open', 3000);
    r.fake.setPrice('BTCUSDT', 29_400);
    await until(() => r.rec.last(stop.clientOrderId)?.status === 'filled', 'stop filled', 5000);
    expect(r.rec.fillsOf(stop.clientOrderId)).toEqual([expect.objectContaining({ side: 'sell', qty: 0.01, price: 29_400 })]);
    expect(r.rec.fills.map((f) => f.clientOrderId)).toEqual([entry.clientOrderId, stop.clientOrderId]);
    expect(r.rec.fillsFirst(stop.clientOrderId)).toBe(true);
    expect(await r.ex.fetchPositions()).toEqual([]);
  });

  test('reads retry network errors with backoff but never an ExchangeError', async () => {
    const r = await rig('spot');
    const n = r.fake.find('/api/v3/account').length;
    r.fake.inject({ kind: 'drop', path: '/api/v3/account', times: 2 });
    expect(await r.ex.fetchBalances()).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    expect(r.fake.find('/api/v3/account').length - n).toBe(3);
    r.fake.inject({ kind: 'status', status: 503, path: '/api/v3/account', times: Infinity });
    await expect(r.ex.fetchBalances()).rejects.toThrow(/^Binance balances: /);
    expect(r.fake.find('/api/v3/account').length - n).toBe(3 + 4); // bounded
    r.fake.http.clearFaults();
    r.fake.inject({
      kind: 'status',
      status: 400,
      path: '/api/v3/account',
      body: { code: -1100, msg: 'Illegal characters found in a parameter.' },
    });
    await expect(r.ex.fetchBalances()).rejects.toThrow('Binance balances: Illegal characters found in a parameter. (code -1100)');
    expect(r.fake.find('/api/v3/account').length - n).toBe(3 + 4 + 1);
    // fetchOrder: null only for a definite "does not exist".
    expect(await r.ex.fetchOrder('sk-nothere', 'BTC/USDT')).toBeNull();
    r.fake.inject({ kind: 'status', status: 503, path: '/api/v3/order', method: 'GET', times: Infinity });
    await expect(r.ex.fetchOrder('sk-nothere', 'BTC/USDT')).rejects.toThrow(/Binance order/);
  });

  test('connect: bad keys and a testnet/live mismatch give a clear UserError; secrets never appear in errors', async () => {
    const clock = new TestClock();
    const fake = await makeFake('spot', clock, { apiKey: 'the-right-key-000000' });
    const live = rig('spot', { fakeInstance: fake, clock });
    await expect(live).rejects.toThrow(UserError);
    await expect(live).rejects.toThrow(
      /rejected the API keys: Invalid API-key, IP, or permissions for action. \(code -2015\).*exchange.testnet is false: use live API keys/,
    );
    const test = rig('spot', { fakeInstance: fake, clock, testnet: true });
    await expect(test).rejects.toThrow(
      /Binance spot testnet via http:\/\/127.0.0.1:\d+ rejected the API keys.*use Spot Testnet \(testnet.binance.vision\) API keys, not live ones/,
    );
    // clean() drops URLs, signatures and registered secrets.
    expect(clean(new Error(`binance GET http://x/api/v3/account?timestamp=1&signature=abcdef0123 401 ${SECRET}`))).toBe(
      'binance GET <url> 401 [REDACTED]',
    );
  });

  test('perps testnet uses demo trading URLs (the old futures testnet is refused by ccxt)', async () => {
    const r = await rig('perp', { testnet: true });
    expect(r.ex.environment).toBe('testnet');
    expect(r.ex.status().detail).toMatch(/USDⓈ-M perps demo/);
    expect((r.ccxt.urls as { api: Record<string, string> }).api['fapiPrivate']).toBe(`${r.fake.url}/fapi/v1`);
  });
});

// ---- the engine on top ---------------------------------------------------------------------------

describe('engine + journal + adapter + fake, under faults', () => {
  test('no client order id sent twice, every trade journaled once, books equal the venue', async () => {
    const clock = new TestClock();
    const r = await rig('spot', { clock, websocket: true });
    await r.fake.streamReady();
    const journal = Journal.memory();
    const alerts = new MemoryAlertSink();
    const engine = idleEngine({ clock, journal, exchange: r.ex, alerts, marketType: 'spot', leverage: 1 });
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
      path: '/api/v3/order',
      match: (p) => p['type'] === 'MARKET' && p['quantity'] === '0.01',
    });
    const o1 = buy(0.01);
    // 2. 503 after accept (resting limit), then partial fills over price steps
    r.fake.inject({ kind: 'acceptThenStatus', status: 503, method: 'POST', path: '/api/v3/order', match: (p) => p['type'] === 'LIMIT' });
    const o2 = buy(0.01, 29_900);
    // 3. never reached (dropped before the venue)
    r.fake.inject({ kind: 'drop', method: 'POST', path: '/api/v3/order', match: (p) => p['quantity'] === '0.003' });
    const o3 = buy(0.003);
    // 4. rate-limited
    r.fake.inject({
      kind: 'status',
      status: 429,
      method: 'POST',
      path: '/api/v3/order',
      match: (p) => p['quantity'] === '0.004',
      headers: { 'Retry-After': '1' },
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
    // 5. close the position (reducing sell) while the stream is silent: polling only
    r.fake.streamSilent = true;
    r.fake.book.liquidity.delete('BTCUSDT');
    const pos = engine.portfolio.positions.get('BTC/USDT')!;
    expect(pos.qty).toBeCloseTo(0.02, 9);
    const sell = engine.manualOrder({ symbol: 'BTC/USDT', side: 'sell', qty: 0.015 }, 'test').order!;
    await until(() => sell.status === 'filled' && settled(), 'sell filled');
    await realSleep(100);

    // No client order id was sent twice.
    const sent = r.fake.sentClientOrderIds();
    expect(sent.length).toBe(new Set(sent).size);
    expect(sent.length).toBe(5);
    // Every fake trade journaled exactly once.
    const fills = journal.fills();
    expect(fills.map((f) => f.tradeId).sort()).toEqual(r.fake.book.trades.map((t) => `BTCUSDT:${t.id}`).sort());
    expect(fills.length).toBe(1 + 3 + 1);
    // Journal books equal the venue's.
    const base = r.fake.book.bal('BTC');
    const quote = r.fake.book.bal('USDT');
    expect(engine.portfolio.positions.get('BTC/USDT')!.qty).toBeCloseTo(base.free + base.locked, 9);
    expect(engine.portfolio.cash).toBeCloseTo(quote.free + quote.locked, 6);
    const rec = await new Reconciler(engine, journal, r.ex, alerts, silentLogger(), clock, {
      inFlightGraceMs: RECV + RESOLVE_MARGIN_MS,
    }).run('test');
    expect(rec.status).toBe('ok');
    expect(rec.summary).toBe('journal matches the venue');
    expect(journal.getOrder(o3.clientOrderId)!.reason).toMatch(/never reached the venue/);
    expect(journal.getOrder(o4.clientOrderId)!.reason).toMatch(/rate-limited/);
  });
});

// ---- garbage answers, bans, queued entries (issue 7, items 2–4) --------------------------------------

describe('garbage answers are failed reads, never data', () => {
  const HTML = '<!DOCTYPE html><html><head><title>502</title></head><body>nginx: upstream not ready</body></html>';

  test('spot: a 200 whose body is an HTML page or {} is retried like a dropped connection; garbage that stays is an error that says so', async () => {
    const r = await rig('spot', { noPolling: true });
    const n = r.fake.find('/api/v3/account').length;
    r.fake.inject({ kind: 'status', status: 200, path: '/api/v3/account', body: HTML, headers: { 'Content-Type': 'text/html' } });
    r.fake.inject({ kind: 'status', status: 200, path: '/api/v3/account', body: {} });
    // Not "USDT: 0": the third, well-formed answer is the balance.
    expect(await r.ex.fetchBalances()).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    expect(r.fake.find('/api/v3/account').length - n).toBe(3);
    r.fake.inject({ kind: 'status', status: 200, path: '/api/v3/account', body: { balances: 'none' }, times: Infinity });
    await expect(r.ex.fetchBalances()).rejects.toThrow(
      /^Binance balances: Binance GET \/api\/v3\/account: not a well-formed answer \(balances: /,
    );
    r.fake.http.clearFaults();
    // Lists too: an object where the open orders belong is no "nothing open".
    r.fake.inject({ kind: 'status', status: 200, path: '/api/v3/openOrders', body: {} });
    const l = order({ type: 'limit', price: 29_000 });
    r.ex.submit(l);
    await until(() => r.rec.last(l.clientOrderId)?.status === 'open', 'resting');
    expect((await r.ex.fetchOpenOrders()).map((o) => o.clientOrderId)).toEqual([l.clientOrderId]);
    expect(r.fake.find('/api/v3/openOrders').map((q) => q.outcome)).toEqual(['status', 'ok']);
  });

  test('perps: {} on the account and an HTML page on positions are retried; a garbage order answer is looked up, never read as an order', async () => {
    const r = await rig('perp', { noPolling: true });
    r.fake.inject({ kind: 'status', status: 200, path: '/fapi/v3/account', body: {} });
    r.fake.inject({ kind: 'status', status: 200, path: '/fapi/v3/positionRisk', body: HTML, headers: { 'Content-Type': 'text/html' } });
    expect(await r.ex.fetchBalances()).toEqual([{ asset: 'USDT', free: 10_000, locked: 0 }]);
    expect(await r.ex.fetchPositions()).toEqual([]);
    expect(
      r.fake
        .find('/fapi/v3/account')
        .map((q) => q.outcome)
        .slice(-2),
    ).toEqual(['status', 'ok']);
    // The create reached the venue but its answer is a proxy's page: the order is in doubt, looked up by id.
    r.fake.inject({ kind: 'acceptThenStatus', status: 200, method: 'POST', path: '/fapi/v1/order', body: HTML });
    const o = order({ qty: 0.01 });
    r.ex.submit(o);
    await until(() => r.rec.last(o.clientOrderId)?.status === 'filled', 'resolved');
    expect(r.rec.statuses(o.clientOrderId)).toEqual(['unknown', 'filled']);
    expect(r.rec.fillsOf(o.clientOrderId)).toHaveLength(1);
    expect(sentOnce(r.fake, o.clientOrderId)).toBe(1);
  });
});

describe('a ban or Retry-After stops every request to the venue until it expires', () => {
  for (const type of ['spot', 'perp'] as const) {
    test(`${type}: a 418 (Retry-After 3 s) while reads, polls, streams and a reconciliation queue up: zero requests inside the window`, async () => {
      // ccxt's own rate limiter on (as in production): requests queue in it and must not leave during the ban.
      const c =
        type === 'spot'
          ? new ccxt.pro.binance({ enableRateLimit: true, rateLimit: 10 })
          : new ccxt.pro.binanceusdm({ enableRateLimit: true, rateLimit: 10 });
      c.timeout = 2000;
      const clock = new TestClock(); // real time: the limiter and the ban run on it
      const r = await rig(type, {
        clock,
        exchange: c,
        websocket: type === 'perp', // USDⓈ-M: the listen-key stream makes REST calls of its own
        pollMs: 150,
        sleep: (ms) => realSleep(ms),
      });
      if (type === 'perp') await r.fake.streamReady();
      const journal = Journal.memory();
      const alerts = new MemoryAlertSink();
      const engine = idleEngine({ clock, journal, exchange: r.ex, alerts, marketType: type, leverage: 5, limits: { maxLeverage: 5 } });
      engine.onCandle('BTC/USDT', {
        ts: Math.floor(clock.now() / 60_000) * 60_000 - 60_000,
        open: 30_000,
        high: 30_000,
        low: 30_000,
        close: 30_000,
        volume: 1,
      });
      const l = engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.01, price: 29_000 }, 'test').order!;
      await until(() => l.status === 'open', 'resting limit (the poller follows it)', 5000);
      const reconciler = new Reconciler(engine, journal, r.ex, alerts, silentLogger(), clock, {
        inFlightGraceMs: RECV + RESOLVE_MARGIN_MS,
      });

      const account = type === 'spot' ? '/api/v3/account' : '/fapi/v3/account';
      r.fake.inject({
        kind: 'status',
        status: 418,
        path: account,
        headers: { 'Retry-After': '3' },
        body: { code: -1003, msg: 'Way too many requests; IP banned until further notice.' },
      });
      // A burst: the first one is banned, the rest are queued in ccxt's limiter (or waiting to poll).
      const burst = Promise.all([
        r.ex.fetchBalances(),
        r.ex.fetchOpenOrders(),
        r.ex.fetchFills('BTC/USDT', clock.now() - 60_000),
        r.ex.fetchPositions(),
        r.ex.fetchOrder(l.clientOrderId, 'BTC/USDT'),
        reconciler.run('timer'),
      ]);
      await until(() => r.fake.find(account).some((q) => q.outcome === 'status'), '418', 5000);
      const t418 = r.fake.find(account).find((q) => q.outcome === 'status')!.ts;
      engine.cancel(l); // a cancel during the ban waits too
      const [balances, , , , , rep] = await burst;
      expect(balances.find((b) => b.asset === 'USDT')).toBeDefined();
      expect(rep.status).not.toBe('failed');
      await until(() => l.status === 'cancelled', 'cancelled after the ban', 5000);

      const inside = r.fake.requests.filter((q) => q.ts > t418 && q.ts < t418 + 3000);
      expect(inside.map((q) => `${q.method} ${q.path}`)).toEqual([]);
      expect(r.fake.requests.filter((q) => q.ts >= t418 + 3000).length).toBeGreaterThan(5); // all of it, after
      expect(alerts.alerts.find((a) => a.title === 'Binance rate limit (418)')).toMatchObject({ severity: 'critical' });
    }, 20_000);
  }
});

describe('entries queued behind a rate limit', () => {
  test('bounded, and dropped as stale (journaled reason) once the pause has lasted too long; exits still go', async () => {
    const r = await rig('spot', { noPolling: true, fake: { balances: { USDT: 10_000, BTC: 0.01 } } });
    r.fake.inject({ kind: 'status', status: 418, path: '/api/v3/account', headers: { 'Retry-After': '60' } });
    let release = (): void => undefined;
    r.hold.until = new Promise((res) => (release = res));
    void r.ex.fetchBalances().catch(() => undefined); // banned for a minute; the clock stands still meanwhile
    await until(() => r.rec.alerts.some((a) => a.title.includes('418')), '418');
    const entries = Array.from({ length: 12 }, () => order({ qty: 0.001 }));
    for (const o of entries) r.ex.submit(o);
    const exit = order({ side: 'sell', qty: 0.01, reduceOnly: true });
    r.ex.submit(exit);
    // Ten may wait; the eleventh and twelfth are dropped at once.
    await until(() => entries.slice(10).every((o) => r.rec.last(o.clientOrderId)?.status === 'expired'), 'bounded');
    expect(r.rec.last(entries[10]!.clientOrderId)!.reason).toBe('not sent: 10 entries already wait for Binance to lift its rate limit');
    expect(entries.slice(0, 10).every((o) => r.rec.of(o.clientOrderId).length === 0)).toBe(true);
    r.hold.until = null;
    release();
    await until(() => r.rec.last(exit.clientOrderId)?.status === 'filled', 'exit filled after the pause');
    await until(() => entries.every((o) => r.rec.last(o.clientOrderId)?.status === 'expired'), 'stale');
    expect(r.rec.last(entries[0]!.clientOrderId)!.reason).toMatch(
      /^not sent: it waited \d+ s for Binance \(rate limit\); an entry decided that long ago is stale$/,
    );
    for (const o of entries) expect(sentOnce(r.fake, o.clientOrderId)).toBe(0);
    expect(sentOnce(r.fake, exit.clientOrderId)).toBe(1);
  });
});

describe('engine: exits sized from the journal net of the exits already working', () => {
  test('a close while an exit is unanswered covers only the rest; nothing more once exits cover it all; flatten closes what resting exits held', async () => {
    const clock = new TestClock();
    // The account also holds coins the bot never bought: an oversized sell would go through on the venue.
    const r = await rig('spot', { clock, fake: { balances: { USDT: 10_000, BTC: 1 } } });
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
    const buy = engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.02 }, 'test').order!;
    await until(() => buy.status === 'filled', 'bought');
    r.fake.inject({ kind: 'acceptThenDelay', method: 'POST', path: '/api/v3/order', ms: 300, times: Infinity }); // slow answers
    const sell = engine.manualOrder({ symbol: 'BTC/USDT', side: 'sell', qty: 0.015 }, 'test').order!;
    const close = engine.closePosition('BTC/USDT', 'test')!;
    expect(close.qty).toBeCloseTo(0.005, 12); // not the whole 0.02 again
    expect(engine.closePosition('BTC/USDT', 'test')).toBeNull();
    expect(journal.recentDecisions(1)[0]).toMatchObject({ verdict: 'reject', verdictRule: 'exit_in_flight' });
    expect(engine.manualOrder({ symbol: 'BTC/USDT', side: 'sell', qty: 0.01 }, 'test').decision).toMatchObject({
      action: 'reject',
      rule: 'exit_in_flight',
    });
    await until(() => sell.status === 'filled' && close.status === 'filled', 'both exits filled');
    expect(engine.portfolio.positions.has('BTC/USDT')).toBe(false);
    expect(r.fake.book.bal('BTC').free).toBeCloseTo(1, 12); // the other coins untouched
    r.fake.http.clearFaults();

    // A resting exit is cancelled by flatten: the close covers its part too.
    const buy2 = engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.02 }, 'test').order!;
    await until(() => buy2.status === 'filled', 'bought again');
    const limit = engine.manualOrder({ symbol: 'BTC/USDT', side: 'sell', qty: 0.005, price: 31_000 }, 'test').order!;
    await until(() => limit.status === 'open', 'resting exit');
    const f = engine.flatten('test');
    expect(f.closing).toEqual(['BTC/USDT']);
    await until(() => limit.status === 'cancelled' && !engine.portfolio.positions.has('BTC/USDT'), 'flattened');
    expect(r.fake.book.bal('BTC').free + r.fake.book.bal('BTC').locked).toBeCloseTo(1, 12);
    expect(journal.recentOrders(100).filter((o) => o.status === 'rejected')).toEqual([]);
  });
});
