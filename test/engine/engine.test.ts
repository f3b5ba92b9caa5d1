import { describe, expect, it } from 'vitest';
import { rig, SYM } from '../helpers/engine-rig.ts';

describe('engine: signals → risk → journal → venue', () => {
  it('writes the intent before the venue sees it, then tracks it to filled', () => {
    const r = rig({ 0: 'enter_long' });
    const seenAtSubmit: string[] = [];
    const submit = r.venue.submit.bind(r.venue);
    r.venue.submit = (o) => {
      // The journal already holds the order, with its client order id, when the venue is called.
      const j = r.journal.getOrder(o.clientOrderId);
      seenAtSubmit.push(`${o.clientOrderId}:${j?.status}`);
      submit(o);
    };
    r.candle(100, 101, 99, 100);
    expect(seenAtSubmit).toEqual(['sk-000001:submitted']);
    r.candle(100, 102, 99.5, 101); // fills at this open
    const o = r.journal.getOrder('sk-000001')!;
    expect(o.status).toBe('filled');
    expect(r.journal.orderEvents('sk-000001').map((e) => e.toStatus)).toEqual(['new', 'submitted', 'open', 'filled']);
    expect(r.journal.fills()).toHaveLength(1);
    const d = r.journal.recentDecisions(5);
    expect(d.find((x) => x.clientOrderId === 'sk-000001')).toMatchObject({
      verdict: expect.stringMatching(/accept|resize/),
      action: 'enter_long',
    });
  });

  it('places an exchange-side stop after the entry fills; the stop closes the position and raises stop_hit', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { stopLossPct: 0.02 } });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100.5, 99.5, 100); // entry fills at 100; stop at 98 goes out
    const stop = [...r.engine.liveOrders.values()].find((o) => o.purpose === 'stop_loss')!;
    expect(stop).toMatchObject({ type: 'stop_market', side: 'sell', stopPrice: 98, reduceOnly: true });
    r.candle(100, 100, 97, 97.5); // trades through 98
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.journal.getOrder(stop.clientOrderId)!.status).toBe('filled');
    expect(r.alerts.alerts.map((a) => a.type)).toEqual(expect.arrayContaining(['position_opened', 'stop_hit', 'position_closed']));
    const closed = r.journal.closedPositions()[0]!;
    expect(closed.exitPrice).toBe(98);
  });

  it('when one candle touches both stop-loss and take-profit, the stop wins', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { stopLossPct: 0.02, takeProfitPct: 0.02 } });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100.5, 99.5, 100);
    r.candle(100, 103, 97, 100); // both 98 and 102 are inside the range
    const closed = r.journal.closedPositions()[0]!;
    expect(closed.exitPrice).toBe(98);
    expect(r.engine.liveOrders.size).toBe(0); // the take-profit went with the position
  });

  it('pause blocks entries (journaled as rejected) but exits still go through', () => {
    const r = rig({ 0: 'enter_long', 3: 'exit_long', 4: 'enter_long' }, { limits: { stopLossPct: null, sizing: 'all-in' } });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100);
    expect(r.engine.portfolio.positions.size).toBe(1);
    r.engine.pause('test');
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100); // exit signal
    r.candle(100, 100, 100, 100); // exit fills; new entry refused
    r.candle(100, 100, 100, 100);
    expect(r.engine.portfolio.positions.size).toBe(0);
    const rejected = r.journal.recentDecisions(10).filter((d) => d.verdict === 'reject');
    expect(rejected.map((d) => d.verdictRule)).toContain('paused');
  });

  it('a daily drawdown beyond the limit halts entries until the next UTC day', () => {
    const r = rig(
      { 0: 'enter_long', 2: 'exit_long', 3: 'enter_long' },
      { limits: { stopLossPct: null, sizing: 'all-in', maxCapitalInUse: 1, maxDailyDrawdown: 0.05 } },
    );
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100);
    r.candle(90, 90, 90, 90); // −10 %
    expect(r.engine.status().halted).toBe(true);
    r.candle(90, 90, 90, 90); // exit fills; the entry on this candle is refused
    r.candle(90, 90, 90, 90);
    expect(r.engine.portfolio.positions.size).toBe(0);
    expect(r.journal.recentDecisions(10).some((d) => d.verdictRule === 'daily_drawdown_halt')).toBe(true);
    expect(r.alerts.alerts.some((a) => a.type === 'risk_halt' && a.severity === 'critical')).toBe(true);
  });

  it('a bad candle is journaled and alerted, and nothing acts on it', () => {
    const r = rig({ 1: 'enter_long' });
    r.candle(100, 100, 100, 100);
    r.candle(100, 99, 101, 100); // high < low: rejected, the strategy never sees candle #1
    expect(r.strategy.seen).toHaveLength(1);
    expect(r.journal.dataEvents(5)[0]).toMatchObject({ kind: 'ohlc', severity: 'reject' });
    expect(r.alerts.alerts.some((a) => a.type === 'bad_candle')).toBe(true);
    expect(r.journal.count('orders')).toBe(0);
  });

  it("a bad candle's alert names the issue in words ('out of order', not 'out of_order')", () => {
    const r = rig({});
    const first = r.candle(100, 101, 99, 100);
    r.candle(100, 101, 99, 100);
    r.engine.onCandle(SYM, { ...first }); // an older candle arriving late
    expect(r.alerts.alerts.filter((a) => a.type === 'bad_candle').map((a) => a.title)).toEqual([`${SYM} out of order`]);
  });

  it('a fill reported twice is booked once', () => {
    const r = rig({ 0: 'enter_long' }, { limits: { stopLossPct: null, sizing: 'all-in' } });
    r.candle(100, 100, 100, 100);
    r.candle(100, 100, 100, 100);
    const f = r.journal.fills()[0]!;
    const cash = r.engine.portfolio.cash;
    r.engine.onFill({
      tradeId: f.tradeId,
      clientOrderId: f.clientOrderId,
      symbol: SYM,
      side: 'buy',
      price: f.price,
      qty: f.qty,
      fee: f.fee,
      feeCurrency: 'USDT',
      liquidity: 'taker',
      ts: f.ts,
    });
    expect(r.journal.fills()).toHaveLength(1);
    expect(r.engine.portfolio.cash).toBe(cash);
    expect(r.engine.portfolio.positions.get(SYM)!.qty).toBe(f.qty);
  });

  it('the bot’s books equal the venue’s after a run', async () => {
    const script: Record<number, 'enter_long' | 'exit_long'> = {};
    for (let i = 0; i < 200; i += 10) {
      script[i] = 'enter_long';
      script[i + 5] = 'exit_long';
    }
    const r = rig(script, { limits: { stopLossPct: 0.01 } });
    let p = 100;
    for (let i = 0; i < 220; i++) {
      const n = p * (1 + Math.sin(i / 3) * 0.01);
      r.candle(p, Math.max(p, n) * 1.002, Math.min(p, n) * 0.998, n);
      p = n;
    }
    const usdt = (await r.venue.fetchBalances()).find((b) => b.asset === 'USDT')!;
    expect(r.engine.portfolio.cash).toBeCloseTo(usdt.free + usdt.locked, 8);
    const vpos = await r.venue.fetchPositions();
    const bpos = r.engine.portfolio.positions.get(SYM);
    expect(vpos.length).toBe(bpos ? 1 : 0);
    if (bpos) expect(vpos[0]!.qty).toBeCloseTo(bpos.qty, 10);
    expect((await r.venue.fetchFills(SYM, 0)).length).toBe(r.journal.fills().length);
  });
});
