// An order the engine cancels says why in the journal, also when the venue's answer comes only after a
// restart: the reason is journaled (an order event) before the cancel request leaves.
import { describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.ts';
import type { Statements } from '../../src/journal/statements.ts';
import { rig, SYM } from '../helpers/engine-rig.ts';

describe('cancel reasons', () => {
  it('are journaled before the request leaves, and read back when the answer comes after a restart', () => {
    const journal = Journal.memory();
    const first = rig({}, { journal });
    first.candle(100, 100, 100, 100);
    first.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 1 }, 'ada');
    first.candle(100, 100, 100, 100);
    const { order: limit } = first.engine.manualOrder({ symbol: SYM, side: 'sell', qty: 0.5, price: 110 }, 'ada');
    first.candle(100, 100, 100, 100);
    let journaledFirst = false;
    first.venue.cancel = (o) => {
      // The request "leaves" here and is never answered: the process dies before the venue confirms.
      journaledFirst = journal.orderEvents(o.clientOrderId).some((e) => e.detail === 'cancel asked: cancelled by ada');
    };
    first.engine.cancel(limit!, 'cancelled by ada');
    expect(journaledFirst).toBe(true);
    expect(journal.getOrder(limit!.clientOrderId)!.status).toBe('open');

    const second = rig({}, { journal, t0: first.clock.now() }); // the restart, on the same journal
    second.engine.onOrderUpdate({
      clientOrderId: limit!.clientOrderId,
      status: 'cancelled',
      reason: 'cancelled on request',
      ts: second.clock.now(),
    });
    const row = journal.getOrder(limit!.clientOrderId)!;
    expect(row).toMatchObject({ status: 'cancelled', reason: 'cancelled by ada' });
    expect(journal.orderEvents(limit!.clientOrderId).map((e) => [e.fromStatus, e.toStatus, e.detail])).toEqual([
      [null, 'new', null],
      ['new', 'submitted', null],
      ['submitted', 'open', null],
      ['open', 'open', 'cancel asked: cancelled by ada'],
      ['open', 'cancelled', 'cancelled by ada'],
    ]);
  });

  it("reading a reason back searches the order's own events (the coid index), with no sort", () => {
    const j = Journal.memory();
    const sql = (j as unknown as { stmts: Statements }).stmts.rawCancelAsked.source;
    const steps = (j.sqlite.prepare(`explain query plan ${sql}`).all(null) as { detail: string }[]).map((r) => r.detail);
    expect(steps.join(' | ')).toMatch(/^SEARCH order_events USING INDEX order_events_coid \(client_order_id=\?\)$/);
  });

  it("a cancel the engine never asked for keeps the venue's words", () => {
    const r = rig({});
    r.candle(100, 100, 100, 100);
    r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 0.5, price: 90 }, 'ada');
    r.candle(100, 100, 100, 100);
    const [o] = [...r.engine.liveOrders.values()];
    r.engine.onOrderUpdate({ clientOrderId: o!.clientOrderId, status: 'cancelled', reason: 'expired at the venue', ts: r.clock.now() });
    expect(r.journal.getOrder(o!.clientOrderId)).toMatchObject({ status: 'cancelled', reason: 'expired at the venue' });
  });
});
