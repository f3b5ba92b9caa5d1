import { describe, expect, it } from 'vitest';
import type { Order } from '../../src/core/types.ts';
import { pendingEntries } from '../../src/engine/in-flight.ts';
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
    const [alert] = r.alerts.alerts.filter((a) => a.type === 'bad_candle');
    expect(alert!.title).toBe(`${SYM} out of order (candle ignored)`);
    expect(alert!.message).toMatch(/^\d{4}-\d\d-\d\dT\S+Z arrived after /); // not "out_of_order: …" again
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

describe('working entry orders count against the risk limits', () => {
  it('three resting limit buys that each fit maxCapitalInUse do not fill to three times it', () => {
    const r = rig({}, { limits: { maxCapitalInUse: 0.5, stopLossPct: 0.02, riskPerTrade: 0.03, minTradeIntervalSec: 0 } });
    r.candle(100, 100, 100, 100);
    const buy = () => r.engine.manualOrder({ symbol: SYM, side: 'buy', qty: 30, price: 99 }, 'ada'); // ~2,970 of 10,000 each
    expect(buy().decision.action).toBe('accept');
    const second = buy();
    expect(second.decision).toMatchObject({ action: 'resize', rule: 'max_capital_in_use' });
    expect(second.decision.reason).toMatch(/with the working entry orders' 29\.7%/);
    const third = buy(); // no room left: refused, or cut to a crumb
    expect(third.order?.qty ?? 0).toBeLessThan(0.5);
    r.candle(100, 100, 98, 98.5); // both fill
    expect(r.engine.portfolio.capitalInUse() / r.engine.portfolio.equity()).toBeLessThanOrEqual(0.5 + 1e-9);
  });

  it('a working entry on another symbol counts as a position being opened; its own symbol does not count twice', () => {
    const orders = [
      { symbol: 'ETH/USDT', side: 'buy', type: 'limit', qty: 2, price: 2000, filledQty: 0.5, status: 'open', purpose: 'manual' },
      {
        symbol: 'ETH/USDT',
        side: 'sell',
        type: 'stop_market',
        qty: 1,
        stopPrice: 1900,
        filledQty: 0,
        status: 'open',
        purpose: 'stop_loss',
        reduceOnly: true,
      },
      { symbol: 'SOL/USDT', side: 'buy', type: 'market', quoteQty: 300, filledQty: 0, status: 'submitted', purpose: 'entry' },
      { symbol: 'BTC/USDT', side: 'buy', type: 'limit', qty: 0.1, price: 30000, filledQty: 0.1, status: 'filled', purpose: 'manual' },
    ] as unknown as Order[];
    const opts = { symbol: 'SOL/USDT', spot: true, leverage: 1, lastPrice: () => 100, hasPosition: (s: string) => s === 'BTC/USDT' };
    expect(pendingEntries(orders, opts)).toEqual({ capital: 1.5 * 2000 + 300, newSymbols: 1 }); // ETH; SOL is the one judged
    expect(pendingEntries(orders, { ...opts, spot: false, leverage: 3 })).toEqual({ capital: (1.5 * 2000 + 300) / 3, newSymbols: 1 });
  });
});
