// Reconciliation against the paper venue's own books: what it repairs, what it reports, and when
// it halts. (The same Reconciler runs against ccxt venues: see exchange-ccxt tests.)
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import type { Order } from '../../src/core/types.ts';
import { traderCancel } from '../../src/core/order-state.ts';
import { Reconciler } from '../../src/engine/reconcile.ts';
import type { ExchangeListener } from '../../src/exchange/types.ts';
import { rig, SYM, type Rig } from '../helpers/engine-rig.ts';
import { makeOrder } from '../helpers/orders.ts';

function setup(opts: Parameters<typeof rig>[1] = {}) {
  const r = rig({}, { store: true, limits: { stopLossPct: null, minTradeIntervalSec: 0 }, ...opts });
  const rec = (adoptExternal = false) => new Reconciler(r.engine, r.journal, r.venue, r.alerts, silentLogger(), r.clock, { adoptExternal });
  return { r, rec };
}

/** The bot "is down": the venue keeps trading but nobody hears about it. */
function offline(r: Rig, fn: () => void): void {
  const deaf: ExchangeListener = { onOrderUpdate() {}, onFill() {} };
  r.venue.setListener(deaf);
  try {
    fn();
  } finally {
    r.venue.setListener(r.engine);
  }
}

const externalOrder = (coid: string, side: 'buy' | 'sell', qty: number, type: Order['type'] = 'market', price?: number): Order =>
  makeOrder({ clientOrderId: coid, symbol: SYM, side, type, qty, ...(price !== undefined ? { price } : {}) });

describe('reconciliation', () => {
  it('a clean account matches', async () => {
    const { r, rec } = setup();
    r.candle(100, 100, 100, 100);
    const rep = await rec().run('test');
    expect(rep.status).toBe('ok');
    expect(rep.summary).toBe('journal matches the venue');
  });

  it('an order that filled while the bot was down: the missing fill is recorded, the order resolved, the books match', async () => {
    const { r, rec } = setup();
    r.candle(100, 100, 100, 100);
    const { order } = r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'test');
    expect(order!.status).toBe('open');
    offline(r, () => r.candle(101, 101, 101, 101)); // fills at 101; the engine doesn't hear it
    expect(r.journal.fills()).toHaveLength(0);
    const rep = await rec().run('test');
    expect(rep.status).toBe('fixed');
    expect(rep.missingFills).toBe(1);
    expect(rep.resolvedOrders).toEqual([order!.clientOrderId]);
    expect(r.journal.getOrder(order!.clientOrderId)!.status).toBe('filled');
    expect(r.engine.portfolio.positions.get(SYM)!.qty).toBe(1);
    expect((await rec().run('again')).status).toBe('ok'); // and nothing is booked twice
    expect(r.journal.fills()).toHaveLength(1);
  });

  it('an order the bot did not place is reported as external and left alone; with adoptExternal it is adopted', async () => {
    const { r, rec } = setup();
    r.candle(100, 100, 100, 100);
    offline(r, () => r.venue.submit(externalOrder('phone-1', 'buy', 0.5, 'limit', 90)));
    const rep = await rec().run('test');
    expect(rep.external.map((o) => o.clientOrderId)).toEqual(['phone-1']);
    expect(rep.status).toBe('ok');
    expect(
      r.alerts.alerts.some((a) => a.type === 'reconciliation' && a.severity === 'warning' && /not placed by this bot/.test(a.message)),
    ).toBe(true);
    expect(r.journal.getOrder('phone-1')).toBeUndefined();
    const adopted = await rec(true).run('test');
    expect(adopted.adopted).toEqual(['order phone-1']);
    expect(r.engine.liveOrders.has('phone-1')).toBe(true);
  });

  it('an external position (a trade the bot did not make) halts entries with a critical alert; accept adopts it', async () => {
    const { r, rec } = setup({ marketType: 'perp' });
    r.candle(100, 100, 100, 100);
    offline(r, () => {
      r.venue.submit({ ...externalOrder('phone-2', 'sell', 2), leverage: 2 });
      r.candle(100, 100, 100, 100);
    });
    const rep = await rec().run('test');
    expect(rep.status).toBe('halted');
    expect(rep.problems.join()).toMatch(/BTC\/USDT: journal holds no position, the venue short 2/);
    expect(r.engine.status().breaker).toBe(true);
    const crit = r.alerts.alerts.find((a) => a.type === 'reconciliation' && a.severity === 'critical')!;
    expect(crit.message).toMatch(/\/reconcile accept/);
    const acc = await rec().run('accept', { accept: true });
    expect(acc.status).toBe('fixed');
    expect(r.engine.portfolio.positions.get(SYM)).toMatchObject({ side: 'short', qty: 2 });
    r.engine.resume('admin', { clearBreaker: true });
    expect((await rec().run('after')).status).toBe('ok');
  });

  it('an unexplainable balance difference halts; accept records the adjustment and it survives', async () => {
    const { r, rec } = setup();
    r.candle(100, 100, 100, 100);
    r.venue.deposit('USDT', 250);
    const rep = await rec().run('test');
    expect(rep.status).toBe('halted');
    expect(rep.problems.join()).toMatch(/USDT: the venue holds 10250.00, the journal expects 10000.00/);
    const acc = await rec().run('accept', { accept: true });
    expect(acc.adopted.join()).toMatch(/USDT balance 10250/);
    expect(r.engine.portfolio.cash).toBeCloseTo(10_250, 9);
    expect(r.journal.getState('cash_adjustments', 0)).toBe(250);
    expect((await rec().run('again')).status).toBe('ok');
  });

  it("the trader's cancel that the venue never carried out (the bot died as it left) is sent again at start-up, once", async () => {
    const { r, rec } = setup();
    r.candle(100, 100, 100, 100);
    const { order: limit } = r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1, price: 90 }, 'ada');
    const { order: other } = r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1, price: 80 }, 'ada');
    r.candle(100, 100, 100, 100);
    const cancel = r.venue.cancel.bind(r.venue);
    r.venue.cancel = () => {}; // the process "dies" right after the journal write
    r.engine.cancel(limit!, traderCancel('ada'));
    r.engine.cancel(other!, 'its position closed (sk-000009)'); // the engine's own: its start-up checks decide afresh
    r.venue.cancel = cancel;
    const reconciler = rec();
    const rep = await reconciler.run('startup');
    expect(rep).toMatchObject({ status: 'fixed', resumedCancels: [limit!.clientOrderId] });
    expect(rep.summary).toBe(`cancel of ${limit!.clientOrderId} asked for before the restart and not carried out by the venue: sent again`);
    expect(r.journal.getOrder(limit!.clientOrderId)).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada' });
    expect(r.journal.getOrder(other!.clientOrderId)!.status).toBe('open');
    // Later runs leave cancels to the venue adapter, which retries its own while the process lives.
    r.venue.cancel = () => {};
    r.engine.cancel(other!, traderCancel('bo'));
    r.venue.cancel = cancel;
    expect((await reconciler.run('timer')).resumedCancels).toEqual([]);
  });

  it('an order journaled but never sent (the bot died before the request left) is closed out', async () => {
    const { r, rec } = setup();
    r.candle(100, 100, 100, 100);
    const submit = r.venue.submit.bind(r.venue);
    r.venue.submit = () => {}; // the process "dies" right after the journal write
    const { order } = r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'test');
    r.venue.submit = submit;
    const rep = await rec().run('test');
    expect(rep.neverSent).toEqual([order!.clientOrderId]);
    expect(r.journal.getOrder(order!.clientOrderId)).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/never reached the venue/),
    });
  });
});
