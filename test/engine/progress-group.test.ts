// A max-speed replay commits many candles in one transaction: their progress (the resume point) is
// written once, at the group's end, and a group that fails leaves the last committed progress.
import { describe, expect, it } from 'vitest';
import { STATE } from '../../src/journal/state-keys.ts';
import { MIN, rig, SYM, T0 } from '../helpers/engine-rig.ts';

describe('candle groups', () => {
  it('writes the progress once per group, the same value a candle-by-candle run leaves', () => {
    const r = rig({ 2: 'enter_long', 5: 'exit_long' }, { store: true });
    const writes: number[] = [];
    const setNumber = r.journal.setNumber.bind(r.journal);
    r.journal.setNumber = (key, value, ts) => {
      if (key === STATE.lastCandle(SYM).key) writes.push(value);
      setNumber(key, value, ts);
    };
    r.engine.onCandleGroup(() => {
      for (let i = 0; i < 8; i++) r.candle(100, 110, 99, 100 + i);
    });
    expect(writes).toEqual([T0 + 7 * MIN]);
    expect(STATE.lastCandle(SYM).read(r.journal)).toBe(T0 + 7 * MIN);
    expect(r.journal.fills().length).toBe(2); // the group traded as candle-by-candle would

    r.candle(100, 101, 99, 100); // outside a group: written with its own candle
    expect(writes).toEqual([T0 + 7 * MIN, T0 + 8 * MIN]);
  });

  it('a group that throws rolls back with its progress: the resume point stays at the last committed candle', () => {
    const r = rig({}, { store: true });
    r.engine.onCandleGroup(() => {
      for (let i = 0; i < 3; i++) r.candle(100, 101, 99, 100);
    });
    expect(() =>
      r.engine.onCandleGroup(() => {
        for (let i = 0; i < 3; i++) r.candle(100, 101, 99, 100);
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(STATE.lastCandle(SYM).read(r.journal)).toBe(T0 + 2 * MIN);
    r.engine.onCandleGroup(() => r.candle(100, 101, 99, 100));
    expect(STATE.lastCandle(SYM).read(r.journal)).toBe(T0 + 6 * MIN);
  });

  it('holds the counters and the risk state to the group end: written once each, the values a candle-by-candle run leaves', () => {
    const script = { 1: 'enter_long', 3: 'exit_long', 4: 'enter_long', 6: 'exit_long' } as const;
    const keys = [STATE.orderSeq.key, STATE.paperSeq.key, STATE.risk.key];
    const run = (grouped: boolean) => {
      const r = rig(script, { store: true });
      const writes: string[] = [];
      const setState = r.journal.setState.bind(r.journal);
      r.journal.setState = (key, value, ts) => {
        if (keys.includes(key)) writes.push(key);
        setState(key, value, ts);
      };
      const candles = () => {
        for (let i = 0; i < 8; i++) r.candle(100, 110, 99, 100 + i);
      };
      if (grouped) r.engine.onCandleGroup(candles);
      else candles();
      return { writes, state: keys.map((k) => r.journal.getState(k, null)), fills: r.journal.fills().length };
    };
    const one = run(false);
    const grouped = run(true);
    expect(one.fills).toBe(4);
    expect(grouped.fills).toBe(4);
    expect(grouped.state).toEqual(one.state);
    expect(one.writes.length).toBeGreaterThan(keys.length);
    expect([...grouped.writes].sort()).toEqual([...keys].sort());
  });
});
