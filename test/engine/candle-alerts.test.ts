// A candle's info and warning alerts are raised after its decision, in its transaction: the order is
// handed over first, the bookkeeping follows, and a candle that fails takes its alerts with it.
import { describe, expect, it } from 'vitest';
import { rig } from '../helpers/engine-rig.ts';

describe('a candle’s alerts', () => {
  it('come after the order its decision hands to the venue', () => {
    const r = rig({ 0: 'enter_long', 1: 'exit_long' }, { store: true });
    const events: string[] = [];
    const updateOrder = r.journal.updateOrder.bind(r.journal);
    r.journal.updateOrder = (o, from, detail) => {
      if (o.status === 'submitted') events.push(`submit ${o.purpose}`); // the engine's send(), right before the venue's submit
      updateOrder(o, from, detail);
    };
    const raise = r.alerts.raise.bind(r.alerts);
    r.alerts.raise = (a) => {
      events.push(`alert ${a.type}`);
      raise(a);
    };
    r.candle(100, 101, 99, 100); // decides the entry
    expect(events).toEqual(['submit entry']);
    events.length = 0;
    r.candle(100, 102, 99, 101); // the entry fills at this candle's open; the exit is decided
    expect(events).toEqual(['submit stop_loss', 'submit exit', 'alert order_filled', 'alert position_opened']);
  });

  it('are dropped with a candle that throws, and never surface with the next one', () => {
    const r = rig({ 0: 'enter_long' }, { store: true });
    r.candle(100, 101, 99, 100);
    const onCandle = r.strategy.onCandle.bind(r.strategy);
    r.strategy.onCandle = () => {
      throw new Error('strategy failed');
    };
    const before = r.alerts.alerts.length;
    expect(() => r.candle(100, 102, 99, 101)).toThrow('strategy failed'); // the fill happened first, then the throw
    expect(r.alerts.alerts.length).toBe(before);
    r.strategy.onCandle = onCandle;
    r.journal.tx(() => {}); // the journal is usable again
    const quiet = r.alerts.alerts.length;
    r.candle(101, 101.5, 100.5, 101); // nothing fills here
    expect(r.alerts.alerts.slice(quiet).map((a) => a.type)).not.toContain('order_filled');
  });

  it('a critical one goes at once, after what the candle raised before it', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { maxDailyDrawdown: 0.001 } });
    r.candle(100, 101, 99, 100);
    const before = r.alerts.alerts.length;
    r.candle(100, 100, 80, 80); // the entry fills at 100, then the close at 80 breaks the daily limit
    const types = r.alerts.alerts.slice(before).map((a) => `${a.type} ${a.severity}`);
    expect(types).toEqual(['order_filled info', 'position_opened info', 'risk_halt critical']);
  });
});
