// Every position the bot holds has the protection it was promised: strategy entries, manual orders,
// adds (one stop for the whole position, replaced crash-safely), partial exits, adopted positions, and
// after a restart. A refused stop is a critical alert and /status names the position.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import type { Order } from '../../src/core/types.ts';
import { Reconciler } from '../../src/engine/reconcile.ts';
import type { ExchangeListener } from '../../src/exchange/types.ts';
import { Journal } from '../../src/journal/journal.ts';
import { rig, SYM, type Rig } from '../helpers/engine-rig.ts';
import { startBot } from '../helpers/harness.ts';
import { makeOrder } from '../helpers/orders.ts';

const stops = (r: Rig): Order[] => [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
const flat = (r: Rig, px = 100): void => void r.candle(px, px, px, px);

/** The venue refuses every stop with this update; everything else goes through. */
function refuseStops(r: Rig, refusal: { reason: string; triggerPassed?: true }): void {
  const submit = r.venue.submit.bind(r.venue);
  r.venue.submit = (o) => {
    if (o.type !== 'stop_market') return submit(o);
    r.engine.onOrderUpdate({ clientOrderId: o.clientOrderId, status: 'rejected', ts: 0, ...refusal });
  };
}

/** A long of 1 @ 100 (stop 98) with a trader's limit sell of `qty` resting at 105. */
function longUnderLimit(marketType: 'spot' | 'perp', qty: number): { r: Rig; limit: Order } {
  const r = rig({}, { limits: { stopLossPct: 0.02 }, marketType });
  flat(r);
  r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
  flat(r);
  const { order } = r.engine.manualOrder({ symbol: SYM, side: 'sell', qty, price: 105 }, 'ada');
  flat(r);
  return { r, limit: order! };
}

/** Closed as a stop-loss, the resting limit cancelled, no critical alert. */
function closedAtStopWithLimitCancelled(r: Rig, limit: Order): void {
  expect(r.engine.portfolio.positions.size).toBe(0);
  expect(r.journal.getOrder(limit.clientOrderId)!.status).toBe('cancelled');
  // The journal says why the engine cancelled it, not the venue's "cancelled on request".
  expect(r.journal.getOrder(limit.clientOrderId)!.reason).toMatch(/^(making way for exit sk-\w+|its position closed \(sk-\w+\))$/);
  expect(r.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
  expect(r.alerts.alerts.find((a) => a.type === 'position_closed')!.message).toMatch(/\(stop-loss\)$/);
}

describe('protection of every position', () => {
  it('a manual buy gets the stop-loss its reply promised once it fills', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    const { order } = r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    expect(order?.stopLoss).toBe(98);
    flat(r); // fills at 100
    expect(r.engine.portfolio.positions.get(SYM)).toMatchObject({ qty: 1, stopLoss: 98 });
    expect(stops(r)).toEqual([expect.objectContaining({ type: 'stop_market', side: 'sell', stopPrice: 98, qty: 1, status: 'open' })]);
    expect(r.engine.status().unprotected).toEqual([]);
    r.candle(100, 100, 97, 97.5); // the stop fires
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.alerts.alerts.map((a) => a.type)).toContain('stop_hit');
  });

  it('an add replaces the stop with one for the whole position: the new one is journaled before the old is cancelled', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02, maxCapitalInUse: 1 } });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    const [first] = stops(r);
    const seen: string[] = [];
    const cancel = r.venue.cancel.bind(r.venue);
    r.venue.cancel = (o) => {
      seen.push(`cancel ${o.clientOrderId}; journal has ${r.journal.count('orders')} orders`);
      cancel(o);
    };
    const submit = r.venue.submit.bind(r.venue);
    r.venue.submit = (o) => {
      seen.push(`submit ${o.purpose} ${o.qty}`);
      submit(o);
    };
    flat(r, 110);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 0.5 }, 'ada'); // its stop: 2 % under 110
    flat(r, 110);
    const pos = r.engine.portfolio.positions.get(SYM)!;
    expect(pos).toMatchObject({ qty: 1.5, stopLoss: 107.8 });
    expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 107.8, qty: 1.5, status: 'open' })]);
    expect(r.journal.getOrder(first!.clientOrderId)!.status).toBe('cancelled');
    expect(r.journal.getOrder(first!.clientOrderId)!.reason).toBe(`replaced by ${stops(r)[0]!.clientOrderId}`);
    // Spot: the new stop is journaled (4 orders: buy, stop, add, new stop) before the old one is cancelled,
    // and it is sent only after the old one is gone (the old one holds the coins it would sell).
    expect(seen).toEqual(['submit manual 0.5', `cancel ${first!.clientOrderId}; journal has 4 orders`, 'submit stop_loss 1.5']);
  });

  it('perps: the replacement goes out before the old stop is cancelled', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02, maxCapitalInUse: 1 }, marketType: 'perp' });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    const [first] = stops(r);
    const seen: string[] = [];
    const cancel = r.venue.cancel.bind(r.venue);
    r.venue.cancel = (o) => {
      seen.push(`cancel ${o.purpose}`);
      cancel(o);
    };
    const submit = r.venue.submit.bind(r.venue);
    r.venue.submit = (o) => {
      seen.push(`submit ${o.purpose} ${o.qty}`);
      submit(o);
    };
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    expect(seen).toEqual(['submit manual 1', 'submit stop_loss 2', 'cancel stop_loss']);
    expect(stops(r).map((o) => o.qty)).toEqual([2]);
    expect(r.journal.getOrder(first!.clientOrderId)!.status).toBe('cancelled');
  });

  it('a partial exit puts the stop back for what is left', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.4 }, 'ada');
    flat(r);
    expect(r.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(0.6, 9);
    expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: 0.6 })]);
  });

  it('a strategy entry is protected as before', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { stopLossPct: 0.02 } });
    flat(r);
    flat(r);
    expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: r.engine.portfolio.positions.get(SYM)!.qty })]);
  });

  it('an adopted external position (adoptExternal) gets a stop from the configured distance', async () => {
    const r = rig({}, { store: true, marketType: 'perp', limits: { stopLossPct: 0.05 } });
    flat(r);
    const deaf: ExchangeListener = { onOrderUpdate() {}, onFill() {} };
    r.venue.setListener(deaf);
    r.venue.submit({ ...makeOrder({ clientOrderId: 'phone-1', symbol: SYM, side: 'buy', qty: 2 }), leverage: 2 });
    flat(r);
    r.venue.setListener(r.engine);
    const rep = await new Reconciler(r.engine, r.journal, r.venue, r.alerts, silentLogger(), r.clock, { adoptExternal: true }).run('test');
    expect(rep.adopted.join()).toMatch(/BTC\/USDT position 2/);
    expect(r.engine.portfolio.positions.get(SYM)).toMatchObject({ side: 'long', qty: 2, stopLoss: 95 });
    expect(stops(r)).toEqual([expect.objectContaining({ side: 'sell', stopPrice: 95, qty: 2, status: 'open' })]);
  });

  it('a stop the venue refuses is a critical alert, /status names the position as unprotected, and the bot watches the stop itself', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    refuseStops(r, { reason: 'Invalid stop price.' });
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    expect(r.engine.portfolio.positions.size).toBe(1);
    const crit = r.alerts.alerts.filter((a) => a.severity === 'critical');
    expect(crit).toEqual([expect.objectContaining({ title: 'BTC/USDT position UNPROTECTED' })]);
    expect(crit[0]!.message).toMatch(/Invalid stop price/);
    expect(r.alerts.alerts.some((a) => a.type === 'order_rejected' && a.severity === 'warning')).toBe(false);
    expect(r.engine.status().unprotected).toEqual([
      { symbol: SYM, detail: expect.stringMatching(/^no stop-loss: stop-loss sk-\S+ refused by paper: Invalid stop price/) },
    ]);
    // A candle through the stop closes the position, as the stop would have.
    r.candle(99, 99, 97.5, 97.8);
    flat(r, 97.8);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss reached: closing')?.message).toMatch(
      /which had no stop order at the venue \(stop-loss sk-\w+ refused by paper: Invalid stop price\.\)\. Closing it at market/,
    );
  });

  it('perps: a close the venue reports filled before its trades arrive is not followed by a new stop (nor a second close)', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 }, marketType: 'perp' });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    const stopsAsked = () => r.journal.recentOrders(50).filter((o) => o.purpose === 'stop_loss').length;
    expect(stopsAsked()).toBe(1);
    const close = r.engine.closePosition(SYM, 'ada')!; // at market: the paper venue fills it at the next candle
    // A reconciliation reads the order's status before its trades: filled at the venue, nothing booked yet.
    r.engine.onOrderUpdate({ clientOrderId: close.clientOrderId, status: 'filled', filledQty: 1, ts: 0 });
    expect(stopsAsked()).toBe(1);
    flat(r); // its trade arrives
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(stopsAsked()).toBe(1);
    expect(r.alerts.alerts.filter((a) => a.severity !== 'info')).toEqual([]);
  });

  for (const marketType of ['spot'] as const)
    it(`${marketType}: a stop that fires while a resting exit holds part of the position closes all of it, the exit cancelled`, () => {
      const { r, limit } = longUnderLimit(marketType, 0.4);
      expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: 0.6 })]); // the limit holds the rest
      r.candle(99, 99, 96, 96.5); // through the stop: it sells its 0.6; the 0.4 under the limit goes at market
      flat(r, 96.5);
      closedAtStopWithLimitCancelled(r, limit);
      const warn = r.alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss hit: closing the rest');
      expect(warn?.message).toMatch(/sold 0\.6 of the long BTC\/USDT position; 0\.4 is still open, held by sk-\w+ \(cancelled now\)\./);
    });

  for (const marketType of ['spot'] as const)
    it(`${marketType}: with the whole position under a resting exit (no stop at the venue), a candle through the stop closes it`, () => {
      const { r, limit } = longUnderLimit(marketType, 1);
      expect(stops(r)).toEqual([]);
      expect(r.engine.status().unprotected).toEqual([{ symbol: SYM, detail: 'stop-loss lifted while an exit order works' }]);
      r.candle(99, 99, 98.5, 98.6); // not through: nothing happens
      expect(r.engine.portfolio.positions.get(SYM)!.qty).toBe(1);
      r.candle(98.6, 98.6, 97, 97.2); // through the stop
      flat(r, 97.2);
      closedAtStopWithLimitCancelled(r, limit);
      expect(r.alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss reached: closing')?.message).toBe(
        'The low 97.00 went through the stop-loss 98.00 of the long 1 BTC/USDT position, which had no stop order at the venue (a resting exit held it). Closing it at market as the stop-loss; resting exits are cancelled first.',
      );
    });

  // Perps: a resting exit holds nothing, so the stop stays at the venue for the whole position (a bot
  // that is down still has it there); both are reduce-only.
  for (const part of [0.4, 1])
    it(`perp: the stop stays for the whole position beside a resting exit of ${part}; it fires for all of it, the exit is cancelled`, () => {
      const { r, limit } = longUnderLimit('perp', part);
      expect(limit.status).toBe('open');
      expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: 1, status: 'open' })]);
      expect(r.engine.status().unprotected).toEqual([]);
      r.candle(99, 99, 96, 96.5); // through the stop
      flat(r, 96.5);
      closedAtStopWithLimitCancelled(r, limit);
      const stop = r.journal.recentOrders(20).find((o) => o.purpose === 'stop_loss' && o.status === 'filled')!;
      expect(r.journal.getOrder(limit.clientOrderId)!.reason).toBe(`its position closed (${stop.clientOrderId})`);
      expect(r.journal.closedPositions()[0]).toMatchObject({ qty: 0, exitPrice: 98 }); // the venue's stop, not a market close
      expect(r.journal.recentOrders(20).some((o) => o.purpose === 'stop_exit')).toBe(false);
      expect(r.alerts.alerts.some((a) => a.title === 'BTC/USDT stop-loss hit: closing the rest')).toBe(false);
    });

  it('perp: a resting exit that fills first leaves a stop sized for the rest', () => {
    const { r, limit } = longUnderLimit('perp', 0.4);
    r.candle(100, 106, 100, 105); // the limit at 105 fills
    flat(r, 105);
    expect(r.journal.getOrder(limit.clientOrderId)!.status).toBe('filled');
    expect(r.engine.portfolio.positions.get(SYM)!.qty).toBeCloseTo(0.6, 9);
    expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 98, qty: 0.6, status: 'open' })]);
    expect(r.engine.status().unprotected).toEqual([]);
  });

  it('perp: the take-profit makes room for a resting exit (cancelled first), covers what it leaves, and comes back whole when it is cancelled', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02, takeProfitPct: 0.1 }, marketType: 'perp' });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    const guard = (purpose: string) => [...r.engine.liveOrders.values()].filter((o) => o.purpose === purpose);
    const [first] = guard('take_profit');
    expect(first).toMatchObject({ price: expect.closeTo(110, 6), qty: 1, status: 'open' });
    const limit = r.engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.4, price: 105 }, 'ada').order!;
    flat(r);
    expect(limit.status).toBe('open');
    expect(r.journal.getOrder(first!.clientOrderId)!.status).toBe('cancelled');
    // Cancelled before the limit went out: never two reduce-only limits for more than the position.
    const eventId = (id: string, to: string) => r.journal.orderEvents(id).find((e) => e.toStatus === to)!.id;
    expect(eventId(limit.clientOrderId, 'submitted')).toBeGreaterThan(eventId(first!.clientOrderId, 'cancelled'));
    expect(guard('take_profit')).toEqual([expect.objectContaining({ price: expect.closeTo(110, 6), qty: 0.6, status: 'open' })]);
    expect(stops(r)).toEqual([expect.objectContaining({ qty: 1, status: 'open' })]);
    r.engine.cancel(limit);
    flat(r);
    expect(guard('take_profit')).toEqual([expect.objectContaining({ price: expect.closeTo(110, 6), qty: 1, status: 'open' })]);
    expect(stops(r)).toEqual([expect.objectContaining({ qty: 1, status: 'open' })]);
  });

  it('spot: a take-profit order gives the coins back once a stop-loss is set; the bot then watches the take-profit', () => {
    const r = rig({}, { limits: { stopLossPct: null, takeProfitPct: 0.05 } });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    const tps = () => [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'take_profit');
    const [tp] = tps(); // no stop promised: the take-profit order holds the coins at the venue
    expect(tp).toMatchObject({ price: expect.closeTo(105, 6), status: 'open' });
    r.engine.setProtection(SYM, { stopLoss: 95 });
    flat(r);
    expect(tps()).toEqual([]);
    expect(r.journal.getOrder(tp!.clientOrderId)).toMatchObject({
      status: 'cancelled',
      reason: expect.stringContaining('the bot watches the take-profit'),
    });
    expect(stops(r)).toEqual([expect.objectContaining({ stopPrice: 95, qty: 1, status: 'open' })]);
    r.candle(100, 105.5, 100, 104);
    flat(r, 104);
    expect(r.journal.closedPositions({ limit: 1 })[0]).toMatchObject({ exitReason: 'take_profit', exitPrice: 104 });
    expect(r.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
  });

  it('a stop refused because the price already passed its trigger: the position is closed at market, as the stop would have', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    refuseStops(r, { reason: 'Order would immediately trigger.', triggerPassed: true });
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r); // the buy fills; its stop is refused; the exit goes out
    flat(r); // the exit fills
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
    expect(r.alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss already passed: closing')).toBeDefined();
    expect(r.alerts.alerts.find((a) => a.type === 'position_closed')!.message).toMatch(/\(stop-loss\)$/);
    expect(r.engine.status().unprotected).toEqual([]);
  });

  it("a refusal that does not say why, with the bot's own last price through the stop, exits too", () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r); // long 1 @ 100, stop 98
    r.candle(99, 99, 98.5, 98.5);
    refuseStops(r, { reason: "Data sent for paramter 'triggerPrice' is not valid." }); // Bybit spot's words for it
    r.engine.setProtection(SYM, { stopLoss: 99 }); // above the last price 98.5: the venue refuses it
    flat(r, 98.5);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
    expect(r.alerts.alerts.find((a) => a.title === 'BTC/USDT stop-loss already passed: closing')?.message).toMatch(
      /is not valid; the last price 98\.50 is through it\. Closing the position at market/,
    );
  });

  it('a stop the venue never got (never reached) is placed again at once: a warning, not UNPROTECTED', () => {
    // (The journal-backed paper venue commits intent and acceptance together: only a live venue loses one.)
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    const submit = r.venue.submit.bind(r.venue);
    let lost: Order | undefined;
    r.venue.submit = (o) => {
      if (o.type !== 'stop_market' || lost) return submit(o);
      lost = o;
      r.engine.onOrderUpdate({ clientOrderId: o.clientOrderId, status: 'unknown', ts: 0 }); // sent, no answer…
      r.engine.onOrderUpdate({ clientOrderId: o.clientOrderId, status: 'rejected', reason: 'never reached the venue', ts: 0 });
    };
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    expect(r.journal.getOrder(lost!.clientOrderId)).toMatchObject({ status: 'rejected', reason: 'never reached the venue' });
    const [again] = stops(r);
    expect(again).toMatchObject({ stopPrice: 98, qty: 1, status: 'open', decisionId: lost!.decisionId });
    expect(r.alerts.alerts.filter((a) => a.severity === 'critical')).toEqual([]);
    expect(r.alerts.alerts).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        title: 'BTC/USDT stop-loss placed again',
        message: expect.stringContaining(again!.clientOrderId),
      }),
    );
    expect(r.engine.status().unprotected).toEqual([]);
  });

  it('a venue that keeps losing the stop (never reached, 3 times in a row) is a critical alert', () => {
    const r = rig({}, { limits: { stopLossPct: 0.02 } });
    flat(r);
    const submit = r.venue.submit.bind(r.venue);
    let lost = 0;
    r.venue.submit = (o) => {
      if (o.type !== 'stop_market') return submit(o);
      lost++;
      r.engine.onOrderUpdate({ clientOrderId: o.clientOrderId, status: 'rejected', reason: 'never reached the venue', ts: 0 });
    };
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(r);
    expect(lost).toBe(3);
    expect(r.alerts.alerts.filter((a) => a.title.endsWith('placed again')).every((a) => /placed again as sk-/.test(a.message))).toBe(true);
    expect(r.alerts.alerts.filter((a) => a.title.endsWith('placed again')).map((a) => a.title)).toEqual([
      'BTC/USDT stop-loss placed again',
      'BTC/USDT stop-loss placed again',
    ]);
    expect(r.alerts.alerts.filter((a) => /UNPROTECTED/.test(a.title))).toEqual([
      expect.objectContaining({
        severity: 'critical',
        message: expect.stringMatching(/not placed by paper \(3 in a row\): never reached the venue/),
      }),
    ]);
    expect(r.engine.status().unprotected).toHaveLength(1);
  });

  it('after a crash between journaling a replacement and cancelling the old stop, the restart covers the whole position', async () => {
    const journal = Journal.memory();
    const limits = { stopLossPct: 0.02, maxCapitalInUse: 1 };
    const a = rig({}, { journal, store: true, limits });
    flat(a);
    a.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(a);
    const [first] = stops(a);
    // The process dies right after the replacement is journaled: the cancel of the old stop never leaves.
    a.venue.cancel = () => {};
    a.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    flat(a);
    expect(a.engine.portfolio.positions.get(SYM)!.qty).toBe(2);
    expect(stops(a).map((o) => `${o.qty}:${o.status}`)).toEqual(['1:open', '2:new']);

    const b = rig({}, { journal, store: true, limits });
    await new Reconciler(b.engine, journal, b.venue, b.alerts, silentLogger(), b.clock).run('startup');
    b.engine.protectPositions();
    expect(stops(b).map((o) => `${o.qty}:${o.status}`)).toEqual(['2:open']);
    expect(journal.getOrder(first!.clientOrderId)!.status).toBe('cancelled');
    expect(b.engine.status().unprotected).toEqual([]);
    expect(b.alerts.alerts.filter((x) => x.severity === 'critical')).toEqual([]);
  });
});

describe('protection seen from the console', () => {
  it('/buy on a finished replay: after the fill /orders shows the stop-loss and /positions its price', async () => {
    const h = await startBot({
      candles: 300,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } }, // never warms up: only chat trades
        risk: { minTradeIntervalSec: 0, stopLossPct: 0.02 },
        chat: { console: { enabled: true, role: 'admin' } },
      },
    });
    try {
      const con = h.bot.console!;
      await con.onLine('/buy BTC/USDT 0.005');
      await con.onLine('1'); // Confirm
      expect(h.printed()).toMatch(/Stop-loss [\d,.]+ set for the position\.\n\/positions shows what is open now\./);
      const pos = h.bot.engine.portfolio.positions.get(SYM)!;
      expect(pos.qty).toBe(0.005);
      await con.onLine('/orders');
      expect(h.printed()).toMatch(/sell\s+stop_market\s+0\.005\s+stop [\d,.]+\s+open\s+stop_loss/);
      await con.onLine('/status');
      expect(h.printed()).not.toMatch(/UNPROTECTED/);
      // A resting limit exit for part of it: the reply says what becomes of the stop meanwhile.
      await con.onLine(`/sell BTC/USDT 0.002 ${Math.round(h.bot.engine.lastPrice(SYM) * 1.05)}`);
      // The prompt says it before the trader confirms.
      expect(h.printed()).toMatch(
        /at limit [\d,.]+\?\nRisk check now: accepted — exit .*\nWhile it rests, the stop-loss order covers only the rest/,
      );
      await con.onLine('3'); // Confirm (the console numbers its choices on)
      expect(h.printed()).toMatch(
        /While it rests, the stop-loss order covers only the rest of the position \(on spot this order holds its coins\); if the price reaches the stop-loss [\d,.]+, the bot cancels this order and closes the position at market\. While the bot is not running, this order's part has no stop at the venue\./,
      );
      await con.onLine('/orders');
      expect(h.printed()).toMatch(/sell\s+stop_market\s+0\.003\s+stop [\d,.]+\s+open\s+stop_loss/);
    } finally {
      await h.stop();
    }
  });

  it('perps: /sell with a limit says the stop-loss stays for the whole position, and /orders shows it so', async () => {
    const h = await startBot({
      candles: 300,
      config: {
        market: { type: 'perp' },
        strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
        risk: { minTradeIntervalSec: 0, stopLossPct: 0.02 },
        chat: { console: { enabled: true, role: 'admin' } },
      },
    });
    try {
      const con = h.bot.console!;
      await con.onLine('/buy BTC/USDT 0.005');
      await con.onLine('1');
      expect(h.bot.engine.portfolio.positions.get(SYM)!.qty).toBe(0.005);
      await con.onLine(`/sell BTC/USDT 0.002 ${Math.round(h.bot.engine.lastPrice(SYM) * 1.05)}`);
      await con.onLine('3');
      expect(h.printed()).toMatch(
        /While it rests, the stop-loss [\d,.]+ stays at the venue for the whole position: both are reduce-only, so whichever fills first closes that much and the bot resizes or cancels the other\./,
      );
      await con.onLine('/orders');
      expect(h.printed()).toMatch(/sell\s+stop_market\s+0\.005\s+stop [\d,.]+\s+open\s+stop_loss/);
      await con.onLine('/status');
      expect(h.printed()).not.toMatch(/UNPROTECTED/);
    } finally {
      await h.stop();
    }
  });
});
