import { describe, expect, it } from 'vitest';
import { floorToStep } from '../../src/core/num.ts';
import { defaultMarket, PaperExchange } from '../../src/exchange/paper/index.ts';
import { SimClock } from '../../src/core/clock.ts';
import type { Order } from '../../src/core/types.ts';
import { market, rig, SYM } from '../helpers/paper-fixtures.ts';

describe('paper exchange: market orders', () => {
  it('fills at the next open with slippage and the taker fee', () => {
    const r = rig({ slippageBps: 10 });
    r.candle(100, 101, 99, 100);
    const o = r.place({ side: 'buy', qty: 1 });
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'open', exchangeOrderId: 'P1' });
    expect(r.fills()).toHaveLength(0); // nothing before the next candle
    r.candle(100, 102, 99, 101);
    const [f] = r.fills();
    expect(f).toMatchObject({
      tradeId: 'PT1',
      clientOrderId: o.clientOrderId,
      side: 'buy',
      qty: 1,
      liquidity: 'taker',
      feeCurrency: 'USDT',
    });
    expect(f!.price).toBeCloseTo(100.1, 10);
    expect(f!.fee).toBeCloseTo(100.1 * 0.002, 10);
    // fill first, then the order update
    expect(r.events.slice(-2).map((e) => e.kind)).toEqual(['fill', 'update']);
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 1 });
    expect(r.ex.balance('USDT').free).toBeCloseTo(10_000 - 100.1 * 1.002, 9);
    expect(r.ex.balance('BTC').free).toBe(1);

    r.clear();
    const s = r.place({ side: 'sell', qty: 1 });
    r.candle(110, 111, 109, 110);
    expect(r.fills()[0]!.price).toBeCloseTo(110 * 0.999, 10);
    expect(r.last(s.clientOrderId)?.status).toBe('filled');
    expect(r.ex.balance('USDT').free).toBeCloseTo(10_000 - 100.1 * 1.002 + 109.89 * 0.998, 9);
    expect(r.ex.balance('BTC').free).toBe(0);
  });

  it('sizes a quoteQty buy as floor(quote / (open × (1 + fee)) / step) × step', () => {
    const r = rig({ makerFee: 0.001, takerFee: 0.001 });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', quoteQty: 1000 });
    r.candle(123.45, 124, 120, 121);
    const f = r.fills()[0]!;
    expect(f.qty).toBe(floorToStep(1000 / (123.45 * 1.001), 0.001));
    expect(f.qty).toBe(8.092);
    expect(f.price).toBe(123.45); // no slippage when slippageBps = 0
    expect(f.fee).toBeCloseTo(0.001 * 8.092 * 123.45, 12);
    expect(r.ex.balance('USDT').free).toBeCloseTo(10_000 - 8.092 * 123.45 * 1.001, 9);
  });

  it('matches the backtest contract over round trips (all-in buys by quote, all-out sells)', () => {
    const fee = 0.001;
    const r = rig({ makerFee: fee, takerFee: fee, markets: [market({ qtyStep: 0.0001, minQty: 0.0001, minNotional: 0 })] });
    const opens = [100, 103.7, 99.21, 120.5, 87.3, 91.15, 150.02, 149.99, 77.7, 80.01, 95.5];
    let cash = 10_000;
    let qty = 0;
    r.candle(100, 100, 100, 100);
    for (let i = 0; i < opens.length; i++) {
      const open = opens[i]!;
      if (i % 2 === 0) {
        r.place({ side: 'buy', quoteQty: r.ex.balance('USDT').free });
        const q = Math.floor(cash / (open * (1 + fee)) / 0.0001 + 1e-9) * 0.0001;
        const bought = Number(q.toFixed(4));
        cash -= bought * open + fee * bought * open;
        qty = bought;
      } else {
        r.place({ side: 'sell', qty: r.ex.balance('BTC').free });
        cash += qty * open - fee * qty * open;
        qty = 0;
      }
      r.candle(open, open * 1.01, open * 0.99, open);
      expect(r.ex.balance('USDT').free).toBeCloseTo(cash, 8);
      expect(r.ex.balance('BTC').free).toBeCloseTo(qty, 12);
    }
  });

  it('rejects a quoteQty buy too small for the minimum quantity; expires it when sized only at the fill', () => {
    const r = rig({ markets: [market({ minNotional: 0 })] });
    r.candle(100, 100, 100, 100);
    const o = r.place({ side: 'buy', quoteQty: 0.05 });
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'rejected', reason: 'insufficient funds for the minimum quantity' });

    const r2 = rig({ markets: [market({ minNotional: 0 })] });
    const o2 = r2.place({ side: 'buy', quoteQty: 0.05 }); // no price known yet: accepted
    expect(r2.last(o2.clientOrderId)?.status).toBe('open');
    r2.candle(100, 100, 100, 100);
    expect(r2.last(o2.clientOrderId)).toMatchObject({ status: 'expired', reason: 'insufficient funds for the minimum quantity' });
    expect(r2.ex.balance('USDT')).toEqual({ asset: 'USDT', free: 10_000, locked: 0 });
  });
});

describe('paper exchange: limit orders', () => {
  it('does not fill on a touch, fills as maker at the limit when the candle trades through', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const o = r.place({ type: 'limit', side: 'buy', qty: 1, price: 95 });
    expect(r.ex.balance('USDT')).toEqual({ asset: 'USDT', free: 10_000 - 95 * 1.002, locked: 95 * 1.002 });
    r.candle(99, 100, 95, 98); // touch
    expect(r.fills()).toHaveLength(0);
    r.candle(98, 99, 94.9, 96); // through
    const f = r.fills()[0]!;
    expect(f).toMatchObject({ price: 95, qty: 1, liquidity: 'maker' });
    expect(f.fee).toBeCloseTo(0.095, 12);
    expect(r.last(o.clientOrderId)?.status).toBe('filled');
    expect(r.ex.balance('USDT').free).toBeCloseTo(10_000 - 95.095, 9);
    expect(r.ex.balance('USDT').locked).toBe(0);
  });

  it('fills at the open as taker when the first candle opens through the limit (marketable on arrival)', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ type: 'limit', side: 'buy', qty: 1, price: 95 });
    r.candle(94, 96, 93, 95);
    expect(r.fills()[0]).toMatchObject({ price: 94, liquidity: 'taker' });
    expect(r.fills()[0]!.fee).toBeCloseTo(94 * 0.002, 12);

    const s = rig();
    s.candle(100, 100, 100, 100);
    s.place({ type: 'limit', side: 'sell', qty: 0.001, price: 105 }); // no BTC: rejected
    expect(s.updates().at(-1)?.status).toBe('rejected');
  });

  it('a resting limit gapped through later fills at its limit as maker (the book would have hit it)', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ type: 'limit', side: 'buy', qty: 1, price: 95 });
    r.candle(99, 100, 96, 97);
    r.candle(94, 95, 93, 94);
    expect(r.fills()[0]).toMatchObject({ price: 95, liquidity: 'maker' });
  });

  it('post-only: rejected when it would take, always maker otherwise', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const bad = r.place({ type: 'limit', tif: 'PO', side: 'buy', qty: 1, price: 100 });
    expect(r.last(bad.clientOrderId)).toMatchObject({ status: 'rejected', reason: 'post-only order would take liquidity' });
    const po = r.place({ type: 'limit', tif: 'PO', side: 'buy', qty: 1, price: 99 });
    expect(r.last(po.clientOrderId)?.status).toBe('open');
    r.candle(98, 99, 97, 98); // opens through: still maker at the limit
    expect(r.fills()[0]).toMatchObject({ price: 99, liquidity: 'maker' });
    expect(r.fills()[0]!.fee).toBeCloseTo(0.099, 12);
    const pm = r.place({ type: 'market', tif: 'PO', side: 'buy', qty: 1 });
    expect(r.last(pm.clientOrderId)).toMatchObject({ status: 'rejected', reason: 'post-only is only for limit orders' });
  });
});

describe('paper exchange: stops', () => {
  it('stop-market sell triggers on the low, fills at the stop, or at the open on a gap', () => {
    const r = rig({ slippageBps: 10 });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 2 });
    r.candle(100, 100, 100, 100);
    r.clear();
    const a = r.place({ type: 'stop_market', side: 'sell', qty: 1, stopPrice: 95 });
    expect(r.ex.balance('BTC')).toEqual({ asset: 'BTC', free: 1, locked: 1 });
    r.candle(100, 101, 96, 97);
    expect(r.fills()).toHaveLength(0);
    r.candle(97, 98, 94, 96);
    expect(r.fills()[0]!.price).toBeCloseTo(95 * 0.999, 10);
    expect(r.fills()[0]!.liquidity).toBe('taker');
    expect(r.last(a.clientOrderId)?.status).toBe('filled');

    r.clear();
    r.place({ type: 'stop_market', side: 'sell', qty: 1, stopPrice: 95 });
    r.candle(93, 94, 90, 92); // gap below the stop
    expect(r.fills()[0]!.price).toBeCloseTo(93 * 0.999, 10);
    expect(r.ex.balance('BTC')).toEqual({ asset: 'BTC', free: 0, locked: 0 });
  });

  it('stop-market buy triggers on the high', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ type: 'stop_market', side: 'buy', qty: 1, stopPrice: 105 });
    r.candle(100, 104.99, 99, 104);
    expect(r.fills()).toHaveLength(0);
    r.candle(104, 106, 103, 105);
    expect(r.fills()[0]).toMatchObject({ price: 105, liquidity: 'taker' });
  });

  it('stop-limit: fills at the trigger when within the limit, rests otherwise, gap-triggered fills at the limit', () => {
    const base = () => {
      const r = rig();
      r.candle(100, 100, 100, 100);
      r.place({ side: 'buy', qty: 1 });
      r.candle(100, 100, 100, 100);
      r.clear();
      return r;
    };
    // within the limit: sell stop 95, limit 94 → taker at 95
    let r = base();
    r.place({ type: 'stop_limit', side: 'sell', qty: 1, stopPrice: 95, price: 94 });
    r.candle(100, 100, 93, 94);
    expect(r.fills()[0]).toMatchObject({ price: 95, liquidity: 'taker' });

    // limit above the stop: triggers, rests, fills later when traded through
    r = base();
    const o = r.place({ type: 'stop_limit', side: 'sell', qty: 1, stopPrice: 95, price: 96 });
    r.candle(100, 101, 94, 97); // triggered; the high may have come before the trigger: no fill
    expect(r.fills()).toHaveLength(0);
    r.candle(95, 96, 94, 95); // touch only
    expect(r.fills()).toHaveLength(0);
    r.candle(95, 96.5, 94, 96);
    expect(r.fills()[0]).toMatchObject({ price: 96, liquidity: 'maker' });
    expect(r.last(o.clientOrderId)?.status).toBe('filled');

    // gap trigger at the open below the limit, the rest of the candle trades through it
    r = base();
    r.place({ type: 'stop_limit', side: 'sell', qty: 1, stopPrice: 95, price: 94 });
    r.candle(93, 94.5, 92, 94);
    expect(r.fills()[0]).toMatchObject({ price: 94, liquidity: 'maker' });
  });

  it('when one candle touches both the stop-loss and the take-profit, the stop wins', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 1 });
    r.candle(100, 100, 100, 100);
    r.clear();
    const sl = r.place({ type: 'stop_market', side: 'sell', qty: 1, stopPrice: 95, reduceOnly: true });
    const tp = r.place({ type: 'limit', side: 'sell', qty: 1, price: 105, reduceOnly: true });
    expect(r.ex.balance('BTC')).toEqual({ asset: 'BTC', free: 1, locked: 0 }); // reduce-only: nothing locked
    r.candle(100, 106, 94, 100);
    expect(r.fills()).toHaveLength(1);
    expect(r.fills()[0]).toMatchObject({ clientOrderId: sl.clientOrderId, price: 95 });
    expect(r.last(tp.clientOrderId)).toMatchObject({ status: 'cancelled', reason: 'reduce-only: position closed' });
    expect(r.ex.position(SYM)).toBeNull();
    expect(r.ex.balance('BTC').free).toBe(0);
  });
});

describe('paper exchange: IOC', () => {
  it('a limit IOC fills at the open when the open is through its limit, else expires', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const a = r.place({ type: 'limit', tif: 'IOC', side: 'buy', qty: 1, price: 101 });
    r.candle(100.5, 102, 98, 101);
    expect(r.fills()[0]).toMatchObject({ price: 100.5, liquidity: 'taker' });
    expect(r.last(a.clientOrderId)?.status).toBe('filled');

    const b = r.place({ type: 'limit', tif: 'IOC', side: 'buy', qty: 1, price: 99 });
    r.candle(100, 101, 98, 99); // would trade through later in the candle: an IOC is gone by then
    expect(r.fills()).toHaveLength(1);
    expect(r.last(b.clientOrderId)?.status).toBe('expired');
    expect(r.ex.balance('USDT').locked).toBe(0);
  });

  it('a market IOC fills what the volume cap allows and expires the rest', () => {
    const r = rig({ maxVolumeParticipation: 0.1 });
    r.candle(100, 100, 100, 100);
    const o = r.place({ tif: 'IOC', side: 'buy', qty: 2 });
    r.candle(100, 100, 100, 100, 10);
    expect(r.fills()[0]!.qty).toBe(1);
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'expired', filledQty: 1 });
  });

  it('IOC is refused on stop orders', () => {
    const r = rig();
    const o = r.place({ type: 'stop_market', tif: 'IOC', side: 'buy', qty: 1, stopPrice: 101 });
    expect(r.last(o.clientOrderId)?.status).toBe('rejected');
  });
});

describe('paper exchange: reduce-only', () => {
  it('is rejected without a position, capped at the position, and cancelled when it closes', () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    const none = r.place({ side: 'sell', qty: 1, reduceOnly: true });
    expect(r.last(none.clientOrderId)).toMatchObject({
      status: 'rejected',
      reason: 'reduce-only order but there is no position to reduce',
    });

    r.place({ side: 'buy', qty: 1, leverage: 2 });
    r.candle(100, 100, 100, 100);
    const same = r.place({ side: 'buy', qty: 1, reduceOnly: true });
    expect(r.last(same.clientOrderId)?.status).toBe('rejected'); // would increase the long

    const big = r.place({ side: 'sell', qty: 3, reduceOnly: true });
    const other = r.place({ type: 'limit', side: 'sell', qty: 1, price: 120, reduceOnly: true });
    r.clear();
    r.candle(110, 111, 109, 110);
    expect(r.fills()).toHaveLength(1);
    expect(r.fills()[0]!.qty).toBe(1); // never flips
    expect(r.last(big.clientOrderId)).toMatchObject({
      status: 'filled',
      filledQty: 1,
      reason: 'reduce-only: quantity capped at the position',
    });
    expect(r.last(other.clientOrderId)).toMatchObject({ status: 'cancelled', reason: 'reduce-only: position closed' });
    expect(r.ex.position(SYM)).toBeNull();
  });

  it('a non-reduce-only close also cancels the reduce-only orders left', () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'sell', qty: 1, leverage: 3 });
    r.candle(100, 100, 100, 100);
    const sl = r.place({ type: 'stop_market', side: 'buy', qty: 1, stopPrice: 110, reduceOnly: true });
    r.place({ side: 'buy', qty: 1 });
    r.candle(100, 100, 100, 100);
    expect(r.last(sl.clientOrderId)).toMatchObject({ status: 'cancelled', reason: 'reduce-only: position closed' });
  });
});

describe('paper exchange: spot', () => {
  it('is long-only and checks funds', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const s = r.place({ side: 'sell', qty: 1 });
    expect(r.last(s.clientOrderId)?.status).toBe('rejected');
    expect(r.last(s.clientOrderId)?.reason).toMatch(/insufficient BTC balance/);
    const b = r.place({ side: 'buy', qty: 200 });
    expect(r.last(b.clientOrderId)?.reason).toMatch(/insufficient USDT balance/);
    const l = r.place({ type: 'limit', side: 'buy', qty: 100, price: 99.9 });
    expect(r.last(l.clientOrderId)?.reason).toMatch(/insufficient USDT balance/); // 99.9 × 100 × 1.002 > 10 000
    const lev = r.place({ side: 'buy', qty: 1, leverage: 2 });
    expect(r.last(lev.clientOrderId)?.reason).toBe('spot orders cannot use leverage');
  });

  it('locks funds for resting orders and releases them on cancel', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const o = r.place({ type: 'limit', side: 'buy', qty: 10, price: 90 });
    expect(r.ex.balance('USDT').locked).toBeCloseTo(900 * 1.002, 9);
    r.ex.cancel(o);
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'cancelled' });
    expect(r.ex.balance('USDT')).toEqual({ asset: 'USDT', free: 10_000, locked: 0 });
  });

  it('expires a market buy that the funds no longer cover at the fill', () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const a = r.place({ side: 'buy', qty: 60 }); // 6 012 at the last price
    const b = r.place({ side: 'buy', qty: 60 }); // also accepted: market orders lock nothing
    r.candle(100, 100, 100, 100);
    expect(r.last(a.clientOrderId)?.status).toBe('filled');
    expect(r.last(b.clientOrderId)?.status).toBe('expired');
    expect(r.ex.balance('USDT').free).toBeGreaterThanOrEqual(0);
  });
});

describe('paper exchange: perps', () => {
  it('long with leverage: isolated margin, PnL, fees', () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 10, leverage: 5 });
    r.candle(100, 101, 99, 100);
    expect(r.ex.position(SYM)).toMatchObject({ side: 'long', qty: 10, entryPrice: 100, leverage: 5, margin: 200, liquidationPrice: 80.5 });
    expect(r.ex.balance('USDT').free).toBeCloseTo(10_000 - 2 - 200, 9);
    expect(r.ex.balance('USDT').locked).toBeCloseTo(200, 9);
    r.candle(105, 106, 104, 105);
    expect(r.ex.equity()).toBeCloseTo(10_000 - 2 + 50, 9);
    r.place({ side: 'sell', qty: 10, reduceOnly: true });
    r.candle(110, 111, 109, 110);
    expect(r.ex.position(SYM)).toBeNull();
    expect(r.ex.balance('USDT')).toEqual({ asset: 'USDT', free: expect.closeTo(10_000 - 2 + 100 - 2.2, 9), locked: 0 });
  });

  it('short with leverage profits from a fall', async () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'sell', qty: 10, leverage: 10 });
    r.candle(100, 100, 100, 100);
    expect(r.ex.position(SYM)).toMatchObject({ side: 'short', margin: 100, liquidationPrice: expect.closeTo(109.5, 9) });
    const [vp] = await r.ex.fetchPositions();
    expect(vp).toMatchObject({
      symbol: SYM,
      side: 'short',
      qty: 10,
      leverage: 10,
      liquidationPrice: expect.closeTo(109.5, 9),
      unrealizedPnl: 0,
    });
    r.place({ side: 'buy', qty: 10, reduceOnly: true });
    r.candle(90, 91, 89, 90);
    expect(r.ex.balance('USDT').free).toBeCloseTo(10_000 - 2 + 100 - 1.8, 9);
  });

  it('a non-reduce-only order larger than the position flips it', () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 1, leverage: 2 });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'sell', qty: 3, leverage: 4 });
    r.candle(110, 110, 110, 110);
    expect(r.ex.position(SYM)).toMatchObject({ side: 'short', qty: 2, entryPrice: 110, leverage: 4, margin: 55 });
    expect(r.ex.balance('USDT').locked).toBeCloseTo(55, 9);
    expect(r.ex.balance('USDT').free + r.ex.balance('USDT').locked).toBeCloseTo(10_000 - 0.2 + 10 - 0.66, 9);
  });

  it('liquidates: the margin is lost, a venue order is reported, reduce-only orders are cancelled', async () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 10, leverage: 10 });
    r.candle(100, 100, 100, 100);
    const pos = r.ex.position(SYM)!;
    expect(pos.liquidationPrice).toBeCloseTo(90.5, 10);
    const sl = r.place({ type: 'stop_market', side: 'sell', qty: 10, stopPrice: 85, reduceOnly: true });
    const wallet = r.ex.balance('USDT').free + r.ex.balance('USDT').locked;
    r.clear();
    r.candle(99, 99, 90, 91);
    const f = r.fills()[0]!;
    expect(f.clientOrderId).toMatch(/^liq-\d+$/);
    expect(f.tradeId).toMatch(/^PT\d+-liq$/);
    expect(f).toMatchObject({ side: 'sell', qty: 10, liquidity: 'taker' });
    expect(f.price).toBeCloseTo(90.5, 10);
    expect(f.fee).toBeCloseTo(100 + (90.5 - 100) * 10, 9); // the rest of the margin
    expect(r.events.map((e) => (e.kind === 'fill' ? 'fill' : `${e.update.clientOrderId}:${e.update.status}`))).toEqual([
      'fill',
      `${f.clientOrderId}:filled`,
      `${sl.clientOrderId}:cancelled`,
    ]);
    expect(r.ex.position(SYM)).toBeNull();
    expect(r.ex.balance('USDT').locked).toBe(0);
    expect(r.ex.balance('USDT').free).toBeCloseTo(wallet - 100, 9);
    expect(await r.ex.fetchOrder(f.clientOrderId, SYM)).toMatchObject({ status: 'filled', filledQty: 10, reduceOnly: true });
  });

  it('a stop-loss above the liquidation price fires first', () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 10, leverage: 10 });
    r.candle(100, 100, 100, 100);
    const sl = r.place({ type: 'stop_market', side: 'sell', qty: 10, stopPrice: 95, reduceOnly: true });
    r.clear();
    r.candle(99, 99, 90, 91);
    expect(r.fills()).toHaveLength(1);
    expect(r.fills()[0]!.clientOrderId).toBe(sl.clientOrderId);
  });

  it('checks leverage and margin', () => {
    const r = rig({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    expect(r.last(r.place({ side: 'buy', qty: 1, leverage: 0.5 }).clientOrderId)?.reason).toBe('leverage must be at least 1');
    expect(r.last(r.place({ side: 'buy', qty: 1, leverage: 51 }).clientOrderId)?.reason).toMatch(/above the maximum 50/);
    expect(r.last(r.place({ side: 'buy', qty: 1000, leverage: 1 }).clientOrderId)?.reason).toMatch(/insufficient margin/);
    const ok = r.place({ type: 'limit', side: 'buy', qty: 100, price: 90, leverage: 10 });
    expect(r.last(ok.clientOrderId)?.status).toBe('open');
    expect(r.ex.balance('USDT').locked).toBeCloseTo(900, 9); // initial margin of the resting order
  });
});

describe('paper exchange: partial fills', () => {
  it('caps each candle at maxVolumeParticipation × volume and keeps the rest working', async () => {
    const r = rig({ maxVolumeParticipation: 0.1 });
    r.candle(100, 100, 100, 100);
    const o = r.place({ type: 'limit', side: 'buy', qty: 3, price: 99 });
    r.candle(100, 100, 98, 99, 10);
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'partially_filled', filledQty: 1 });
    expect(r.ex.balance('USDT').locked).toBeCloseTo(2 * 99 * 1.002, 9);
    r.candle(99, 100, 98, 99, 15);
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'partially_filled', filledQty: 2.5 });
    expect((await r.ex.fetchOpenOrders(SYM))[0]).toMatchObject({ clientOrderId: o.clientOrderId, filledQty: 2.5, qty: 3 });
    r.candle(99, 100, 98, 99, 0); // no volume, no fill
    expect(r.fills()).toHaveLength(2);
    r.candle(99, 100, 98, 99, 100);
    expect(r.last(o.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 3 });
    expect(r.fills().map((f) => f.qty)).toEqual([1, 1.5, 0.5]);
    expect(r.ex.balance('USDT')).toEqual({ asset: 'USDT', free: expect.closeTo(10_000 - 3 * 99 * 1.001, 9), locked: 0 });
    expect(r.ex.balance('BTC').free).toBeCloseTo(3, 12);
  });

  it('a partially filled market order continues at the next open', () => {
    const r = rig({ maxVolumeParticipation: 0.5 });
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 2 });
    r.candle(100, 100, 100, 100, 2);
    r.candle(101, 101, 101, 101, 2);
    expect(r.fills().map((f) => [f.qty, f.price])).toEqual([
      [1, 100],
      [1, 101],
    ]);
  });
});

describe('paper exchange: orders and rejections', () => {
  it('rejects a duplicate client order id and leaves the existing order untouched', async () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ clientOrderId: 'dup', type: 'limit', side: 'buy', qty: 1, price: 90 });
    const before = JSON.stringify([await r.ex.fetchBalances(), await r.ex.fetchOpenOrders()]);
    r.place({ clientOrderId: 'dup', type: 'limit', side: 'buy', qty: 2, price: 80 });
    expect(r.last('dup')).toMatchObject({ status: 'rejected' });
    expect(r.last('dup')?.reason).toMatch(/duplicate client order id/);
    expect(JSON.stringify([await r.ex.fetchBalances(), await r.ex.fetchOpenOrders()])).toBe(before);
    expect(await r.ex.fetchOrder('dup', SYM)).toMatchObject({ status: 'open', price: 90, qty: 1 });
  });

  it('every rejection leaves balances and orders unchanged', async () => {
    const bad: Array<[Partial<Order>, RegExp]> = [
      [{ symbol: 'ETH/USDT', qty: 1 }, /unknown symbol/],
      [{ qty: undefined }, /quantity missing/],
      [{ qty: -1 }, /quantity missing/],
      [{ qty: 0.0005 }, /below the minimum/],
      [{ qty: 0.0015 }, /not a multiple of the step/],
      [{ type: 'limit', qty: 1 }, /limit price missing/],
      [{ type: 'stop_market', qty: 1 }, /stop price missing/],
      [{ type: 'stop_limit', qty: 1, stopPrice: 90 }, /limit price missing/],
      [{ type: 'limit', qty: 1, price: 90, quoteQty: 100 }, /only allowed on market buys/],
      [{ side: 'sell', quoteQty: 100 }, /only allowed on market buys/],
      [{ qty: 1, quoteQty: 100 }, /either a quantity or a quote amount/],
      [{ quoteQty: 20_000 }, /insufficient USDT/],
      [{ type: 'stop_limit', tif: 'PO', qty: 1, price: 90, stopPrice: 91 }, /post-only is only for limit/],
      [{ side: 'buy', qty: 1, reduceOnly: true }, /no position to reduce/], // spot positions are long
      [{ side: 'sell', qty: 2 }, /insufficient BTC/],
      [{ qty: 1000 }, /insufficient USDT/],
      [{ type: 'limit', qty: 0.005, price: 100 }, /order value 0.5 USDT is below the minimum 1/],
      [{ leverage: 3, qty: 1 }, /cannot use leverage/],
    ];
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ type: 'limit', side: 'buy', qty: 1, price: 90 });
    r.place({ side: 'buy', qty: 1 });
    r.candle(100, 100, 100, 100);
    const snap = async () =>
      JSON.stringify([await r.ex.fetchBalances(), await r.ex.fetchOpenOrders(), await r.ex.fetchPositions(), r.ex.equity()]);
    const before = await snap();
    for (const [req, reason] of bad) {
      const o = r.place(req);
      const u = r.last(o.clientOrderId);
      expect(u?.status, JSON.stringify(req)).toBe('rejected');
      expect(u?.reason, JSON.stringify(req)).toMatch(reason);
      expect(await snap()).toBe(before);
      expect(await r.ex.fetchOrder(o.clientOrderId, o.symbol)).toBeNull();
    }
  });

  it('cancel: working → cancelled; final → reports the status; unknown → rejected', async () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    const m = r.place({ side: 'buy', qty: 1 });
    r.candle(100, 100, 100, 100);
    r.ex.cancel(m);
    expect(r.last(m.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 1 });
    const ghost: Order = { ...m, clientOrderId: 'never-seen' };
    r.ex.cancel(ghost);
    expect(r.last('never-seen')).toMatchObject({ status: 'rejected', reason: 'unknown order' });
    const l = r.place({ type: 'limit', side: 'buy', qty: 1, price: 50 });
    r.ex.cancel(l);
    expect(r.last(l.clientOrderId)?.status).toBe('cancelled');
    expect(await r.ex.fetchOpenOrders()).toEqual([]);
    r.ex.cancel(l);
    expect(r.updates(l.clientOrderId).map((u) => u.status)).toEqual(['open', 'cancelled', 'cancelled']);
  });

  it('orders placed from a fill callback start working on the next candle', () => {
    const clock = new SimClock(0);
    const ex = new PaperExchange({
      clock,
      marketType: 'spot',
      markets: [market()],
      startingBalances: { USDT: 10_000 },
      makerFee: 0,
      takerFee: 0,
      slippageBps: 0,
    });
    const fills: string[] = [];
    const base = {
      symbol: SYM,
      status: 'submitted' as const,
      filledQty: 0,
      avgPrice: 0,
      fee: 0,
      createdAt: 0,
      updatedAt: 0,
      tif: 'GTC' as const,
    };
    ex.setListener({
      onFill: (f) => {
        fills.push(`${f.clientOrderId}@${f.price}`);
        if (f.clientOrderId === 'entry')
          ex.submit({ ...base, clientOrderId: 'tp', side: 'sell', type: 'limit', qty: 1, price: 102, reduceOnly: true });
      },
      onOrderUpdate: () => {},
    });
    ex.processCandle(SYM, { ts: 0, open: 100, high: 100, low: 100, close: 100, volume: 1 });
    ex.submit({ ...base, clientOrderId: 'entry', side: 'buy', type: 'market', qty: 1, reduceOnly: false });
    ex.processCandle(SYM, { ts: 60_000, open: 100, high: 105, low: 99, close: 101, volume: 1 });
    expect(fills).toEqual(['entry@100']); // the take-profit did not see this candle
    ex.processCandle(SYM, { ts: 60_000, open: 100, high: 105, low: 99, close: 101, volume: 1 }); // repeated candle: ignored
    expect(fills).toEqual(['entry@100']);
    ex.processCandle(SYM, { ts: 120_000, open: 101, high: 103, low: 100, close: 101, volume: 1 });
    expect(fills).toEqual(['entry@100', 'tp@102']);
  });

  it('queries: fills since a time, open orders, balances', async () => {
    const r = rig();
    r.candle(100, 100, 100, 100);
    r.place({ side: 'buy', qty: 1 });
    r.candle(100, 100, 100, 100);
    const t1 = r.clock.now();
    r.place({ side: 'buy', qty: 1 });
    r.candle(101, 101, 101, 101); // a fill at the open is stamped with the candle's open time (= t1)
    expect((await r.ex.fetchFills(SYM, 0)).map((f) => f.price)).toEqual([100, 101]);
    expect((await r.ex.fetchFills(SYM, t1)).map((f) => f.price)).toEqual([101]);
    expect((await r.ex.fetchFills(SYM, t1 + 1)).map((f) => f.price)).toEqual([]);
    expect(await r.ex.fetchFills('ETH/USDT', 0)).toEqual([]);
    expect(r.ex.lastPrice(SYM)).toBe(101);
    expect(r.ex.equity()).toBeCloseTo(10_000 - 201 * 1.002 + 2 * 101, 9);
    expect(await r.ex.fetchBalances()).toHaveLength(2);
    expect(await r.ex.fetchOrder('nope', SYM)).toBeNull();
  });
});

describe('defaultMarket', () => {
  it('parses symbols and documents its defaults', () => {
    expect(defaultMarket('BTC/USDT', 'spot')).toEqual({
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      type: 'spot',
      qtyStep: 0.00001,
      priceStep: 0.01,
      minQty: 0.00001,
      minNotional: 5,
      maxLeverage: 1,
    });
    expect(defaultMarket('ETH/USDT:USDT', 'perp')).toMatchObject({ base: 'ETH', quote: 'USDT', maxLeverage: 125 });
    expect(defaultMarket('SOLUSDC', 'spot')).toMatchObject({ base: 'SOL', quote: 'USDC' });
  });
});
