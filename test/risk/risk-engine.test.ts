import { describe, expect, it } from 'vitest';
import { floorToStep } from '../../src/core/num.ts';
import type { OrderRequest, Signal } from '../../src/core/types.ts';
import { LIMIT_KEYS, RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS, type RiskIntent, type RiskState } from '../../src/risk/types.ts';
import { ctx, limits, T0 } from '../helpers/risk-context.ts';

const HOUR = 3_600_000;
const NEXT_DAY = Date.UTC(2026, 10, 22);
const SYM = 'BTC/USDT';

interface EntryOpts {
  side?: 'buy' | 'sell';
  qty?: number;
  quoteQty?: number;
  stopLoss?: number;
  leverage?: number;
  type?: OrderRequest['type'];
  price?: number;
}

function entry(o: EntryOpts = {}): RiskIntent {
  const side = o.side ?? 'buy';
  const signal: Signal = {
    symbol: SYM,
    action: side === 'buy' ? 'enter_long' : 'enter_short',
    ts: T0,
    price: 100,
    strategy: 'test',
    reason: 'test',
  };
  if (o.stopLoss !== undefined) signal.stopLoss = o.stopLoss;
  const request: OrderRequest = { symbol: SYM, side, type: o.type ?? 'market', tif: 'GTC', reduceOnly: false };
  if (o.qty !== undefined) request.qty = o.qty;
  if (o.quoteQty !== undefined) request.quoteQty = o.quoteQty;
  if (o.leverage !== undefined) request.leverage = o.leverage;
  if (o.price !== undefined) request.price = o.price;
  return { signal, request, reducing: false };
}

function exit(qty: number, side: 'buy' | 'sell' = 'sell'): RiskIntent {
  const signal: Signal = {
    symbol: SYM,
    action: side === 'sell' ? 'exit_long' : 'exit_short',
    ts: T0,
    price: 100,
    strategy: 'test',
    reason: 'test',
  };
  return { signal, request: { symbol: SYM, side, type: 'market', tif: 'GTC', reduceOnly: true, qty }, reducing: true };
}

const roundTrip = (s: RiskState): RiskState => JSON.parse(JSON.stringify(s)) as RiskState;

// Naive sample stdev of 1-bar log returns over the last `window` returns.
function naiveVol(closes: readonly number[], window: number): number {
  const r: number[] = [];
  for (let i = 1; i < closes.length; i++) r.push(Math.log(closes[i]! / closes[i - 1]!));
  const last = r.slice(-window);
  const mean = last.reduce((a, b) => a + b, 0) / last.length;
  return Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / (last.length - 1));
}

describe('sizing modes', () => {
  it('risk: sizes from the signal stop', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ stopLoss: 95 }), ctx());
    // 2% of 10,000 = 200 at risk, stop 5 away → 40 BTC (fee 0)
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', qty: 40 });
    expect(d.request?.qty).toBe(40);
    expect(d.request?.quoteQty).toBeUndefined();
    expect(d.reason).toContain('accepted 40 BTC');
    expect(d.reason).toContain('2% of equity');
    expect(d.reason).toContain('5% away');
  });

  it('risk: counts entry and stop-exit fees in the loss', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ stopLoss: 95 }), ctx({ takerFee: 0.001 }));
    // loss per BTC = 5 + 0.1 (entry fee) + 0.095 (exit fee at 95) = 5.195
    const qty = floorToStep(200 / 5.195, 0.001);
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', qty });
    expect(qty * 5.195).toBeLessThanOrEqual(200);
  });

  it('risk: falls back to stopLossPct when the signal has no stop', () => {
    const d = new RiskEngine(limits({ stopLossPct: 0.04 })).evaluate(entry(), ctx());
    // 200 / (100 × 4%) = 50 BTC = 5,000 USDT: exactly the 50% capital limit, no resize
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', qty: 50 });
    expect(d.reason).toContain('4% away');
  });

  it('risk: no stop anywhere → no_stop', () => {
    const d = new RiskEngine(limits({ stopLossPct: null })).evaluate(entry(), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'no_stop' });
    expect(d.reason).toContain('risk sizing needs a stop');
    expect(d.request).toBeUndefined();
  });

  it('all-in spot: a quote-sized market buy of all free cash, no stop noted', () => {
    const d = new RiskEngine(limits({ sizing: 'all-in', stopLossPct: null, maxCapitalInUse: 1 })).evaluate(
      entry(),
      ctx({ freeCash: 8_000 }),
    );
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', quoteQty: 8_000 });
    expect(d.qty).toBeUndefined();
    expect(d.request?.quoteQty).toBe(8_000);
    expect(d.request?.qty).toBeUndefined();
    expect(d.reason).toContain('accepted 8,000.00 USDT');
    expect(d.reason).toContain('no stop');
    expect(d.reason).toContain('not bounded');
  });

  it('all-in perps: qty = free margin × leverage / price (fees included in the margin)', () => {
    const eng = new RiskEngine(limits({ sizing: 'all-in', stopLossPct: null, maxCapitalInUse: 1 }));
    const d = eng.evaluate(entry({ leverage: 3 }), ctx({ marketType: 'perp' }));
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', qty: 300 }); // 10,000 × 3 / 100
    expect(d.request?.leverage).toBe(3);
    expect(d.request?.quoteQty).toBeUndefined();
    expect(d.reason).toContain('at 3×');

    const f = eng.evaluate(entry({ leverage: 3 }), ctx({ marketType: 'perp', takerFee: 0.0005 }));
    const qty = floorToStep(10_000 / (100 * (1 / 3 + 0.0005)), 0.001);
    expect(f).toMatchObject({ action: 'accept', qty });
    expect(qty * 100 * (1 / 3 + 0.0005)).toBeLessThanOrEqual(10_000);
  });

  it('fixed: quoteQty on spot market buys, qty elsewhere', () => {
    const eng = new RiskEngine(limits({ sizing: 'fixed', fixedQuote: 100 }));
    const spot = eng.evaluate(entry(), ctx());
    expect(spot).toMatchObject({ action: 'accept', rule: 'ok', quoteQty: 100 });
    expect(spot.request?.quoteQty).toBe(100);
    expect(spot.reason).toContain('fixed size 100.00 USDT');
    const perp = eng.evaluate(entry({ leverage: 2 }), ctx({ marketType: 'perp' }));
    expect(perp).toMatchObject({ action: 'accept', qty: 1 });
    const limit = eng.evaluate(entry({ type: 'limit', price: 50 }), ctx());
    expect(limit).toMatchObject({ action: 'accept', qty: 2 });
  });

  it('an explicit qty (manual order) is kept', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 3 }), ctx());
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', qty: 3 });
    expect(d.reason).toContain('as requested');
  });
});

describe('rules', () => {
  it('max_loss_per_trade: resizes so the loss at the stop is ≤ riskPerTrade of equity', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 100, stopLoss: 95 }), ctx());
    expect(d).toMatchObject({ action: 'resize', rule: 'max_loss_per_trade', qty: 40 });
    expect(d.request?.qty).toBe(40);
    expect(d.reason).toBe(
      'resized 100 → 40 BTC: the loss at the stop (5% away, incl. fees) would be 500.00 USDT = 5% of equity (limit 2%)',
    );
  });

  it('max_loss_per_trade: without any stop the loss is not bounded, accepted and said so', () => {
    const d = new RiskEngine(limits({ sizing: 'fixed', stopLossPct: null })).evaluate(entry(), ctx());
    expect(d).toMatchObject({ action: 'accept', rule: 'ok', quoteQty: 100 });
    expect(d.reason).toContain('no stop: the loss on this trade is not bounded by the max loss per trade (2%)');
  });

  it('max_open_positions: rejects a new symbol at the limit, allows adding to an open one', () => {
    const eng = new RiskEngine(limits({ maxOpenPositions: 3 }));
    const d = eng.evaluate(entry({ qty: 1 }), ctx({ openPositions: 3 }));
    expect(d).toMatchObject({ action: 'reject', rule: 'max_open_positions' });
    expect(d.reason).toBe('rejected: 3 positions already open or being opened (limit 3)');
    const add = eng.evaluate(entry({ qty: 1 }), ctx({ openPositions: 3, position: { side: 'long', qty: 1 } }));
    expect(add.action).toBe('accept');
  });

  it('min_trade_interval: says how long to wait', () => {
    const eng = new RiskEngine(limits({ minTradeIntervalSec: 60 }));
    eng.recordEntry(T0 - 20_000);
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'min_trade_interval' });
    expect(d.reason).toBe('rejected: last entry was 20 s ago, minimum interval is 1 min: wait 40 s');
    expect(eng.evaluate(entry({ qty: 1 }), ctx({ now: T0 + 40_000 })).action).toBe('accept');
  });

  it('cooldown_after_loss: no entry on a symbol soon after a loss on it; other symbols, wins and off are unaffected', () => {
    const eng = new RiskEngine(limits({ cooldownAfterLossSec: 3600, minTradeIntervalSec: 0 }));
    eng.onTradeClosed(5, T0 - 10 * 60_000, SYM); // a win starts nothing
    expect(eng.evaluate(entry({ qty: 1 }), ctx()).action).toBe('accept');
    eng.onTradeClosed(-5, T0 - 20 * 60_000, SYM);
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'cooldown_after_loss' });
    expect(d.reason).toBe('rejected: a BTC/USDT trade closed at a loss 20 min ago; cooldown after a loss is 1 h: wait 40 min');
    const other = entry({ qty: 1 });
    other.signal.symbol = other.request.symbol = 'ETH/USDT';
    expect(eng.evaluate(other, ctx()).action).toBe('accept');
    expect(eng.evaluate(entry({ qty: 1 }), ctx({ now: T0 + 40 * 60_000 })).action).toBe('accept');
    // Kept across a restart; 0 turns it off.
    const again = new RiskEngine(limits({ cooldownAfterLossSec: 3600, minTradeIntervalSec: 0 }), roundTrip(eng.state()));
    expect(again.evaluate(entry({ qty: 1 }), ctx()).rule).toBe('cooldown_after_loss');
    expect(again.setLimit('cooldownAfterLossSec', 'off')).toMatchObject({ ok: true });
    expect(again.evaluate(entry({ qty: 1 }), ctx()).action).toBe('accept');
  });

  it('max_trades_24h: counts the trailing 24 h only', () => {
    const eng = new RiskEngine(limits({ maxTradesPer24h: 3, minTradeIntervalSec: 0 }));
    for (const t of [T0 - 25 * HOUR, T0 - 23 * HOUR, T0 - 2 * HOUR, T0 - HOUR]) eng.recordEntry(t);
    expect(eng.state().recentEntries).toEqual([T0 - 23 * HOUR, T0 - 2 * HOUR, T0 - HOUR]); // pruned
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'max_trades_24h' });
    expect(d.reason).toBe('rejected: 3 entries in the last 24 h (limit 3); next one allowed in 1 h');
    expect(eng.evaluate(entry({ qty: 1 }), ctx({ now: T0 + HOUR })).action).toBe('accept');
  });

  it('entry timestamps stay bounded', () => {
    const eng = new RiskEngine(limits());
    for (let i = 0; i < 24 * 30; i++) eng.recordEntry(T0 + i * HOUR);
    expect(eng.state().recentEntries.length).toBe(24);
  });

  it('volatility: rejects above maxVolatility, allows while the estimate warms up', () => {
    const eng = new RiskEngine(limits({ maxVolatility: 0.01, volatilityWindow: 10 }));
    const closes = [100, 103, 100, 103, 100, 103, 100, 103, 100, 103, 100];
    for (const c of closes.slice(0, 10)) eng.onBar(SYM, c);
    expect(eng.volatility(SYM)).toBeNull(); // 9 returns < window
    expect(eng.evaluate(entry({ qty: 1 }), ctx()).action).toBe('accept');
    eng.onBar(SYM, closes[10]!);
    const vol = eng.volatility(SYM)!;
    expect(vol).toBeCloseTo(naiveVol(closes, 10), 12);
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'volatility' });
    expect(d.reason).toBe(`rejected: BTC/USDT is too volatile: 3.12% per bar (stdev of the last 10 returns), limit 1%`);
    expect(eng.volatility('ETH/USDT')).toBeNull();
  });

  it('volatility: not tracked while the limit is off', () => {
    const eng = new RiskEngine(limits({ volatilityWindow: 2, maxVolatility: null }));
    for (let i = 0; i < 10; i++) eng.onBar(SYM, 100 + i);
    expect(eng.volatility(SYM)).toBeNull();
  });

  it('volatility: rolling estimate matches a naive stdev over a long series, and after a window change', () => {
    const eng = new RiskEngine(limits({ volatilityWindow: 20, maxVolatility: 0.5 }));
    const closes: number[] = [];
    let p = 100;
    for (let i = 0; i < 1000; i++) {
      p *= 1 + Math.sin(i * 1.7) * 0.01;
      closes.push(p);
      eng.onBar(SYM, p);
    }
    expect(eng.volatility(SYM)!).toBeCloseTo(naiveVol(closes, 20), 12);
    expect(eng.setLimit('volatilityWindow', 8)).toEqual({ ok: true, old: 20, new: 8 });
    expect(eng.volatility(SYM)!).toBeCloseTo(naiveVol(closes, 8), 12);
    expect(eng.setLimit('volatilityWindow', 30).ok).toBe(true);
    expect(eng.volatility(SYM)).toBeNull(); // only 8 returns kept
  });

  it('max_leverage: perps resize leverage to the max, spot must be 1×', () => {
    const eng = new RiskEngine(limits({ maxLeverage: 3 }));
    const d = eng.evaluate(entry({ qty: 1, leverage: 10 }), ctx({ marketType: 'perp' }));
    expect(d).toMatchObject({ action: 'resize', rule: 'max_leverage', qty: 1 });
    expect(d.request?.leverage).toBe(3);
    expect(d.reason).toBe('resized leverage 10× → 3× (limit 3×); 1 BTC');
    const spot = eng.evaluate(entry({ qty: 1, leverage: 2 }), ctx());
    expect(spot).toMatchObject({ action: 'reject', rule: 'max_leverage' });
    expect(spot.reason).toContain('spot trades use no leverage (asked 2×)');
  });

  it('max_capital_in_use: resizes to what fits', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 62 }), ctx());
    expect(d).toMatchObject({ action: 'resize', rule: 'max_capital_in_use', qty: 50 });
    expect(d.request?.qty).toBe(50);
    expect(d.reason).toBe('resized 62 → 50 BTC: capital in use would be 62% of equity (limit 50%)');
  });

  it('max_capital_in_use: counts capital already in use; perps count margin', () => {
    const eng = new RiskEngine(limits());
    const d = eng.evaluate(entry({ qty: 30 }), ctx({ capitalInUse: 3_000 }));
    expect(d).toMatchObject({ action: 'resize', rule: 'max_capital_in_use', qty: 20 });
    expect(d.reason).toContain('would be 60% of equity (limit 50%)');
    const full = eng.evaluate(entry({ qty: 1 }), ctx({ capitalInUse: 5_500 }));
    expect(full).toMatchObject({ action: 'reject', rule: 'max_capital_in_use' });
    expect(full.reason).toBe('rejected: capital in use is already 55% of equity (limit 50%)');
    // perps: 120 BTC at 3× = 4,000 margin → fits; 180 BTC = 6,000 → 150 BTC (no stop, so max loss stays out of it)
    const perp = new RiskEngine(limits({ stopLossPct: null }));
    expect(perp.evaluate(entry({ qty: 120, leverage: 3 }), ctx({ marketType: 'perp' })).action).toBe('accept');
    const big = perp.evaluate(entry({ qty: 180, leverage: 3 }), ctx({ marketType: 'perp' }));
    expect(big).toMatchObject({ action: 'resize', rule: 'max_capital_in_use', qty: 150 });
    expect(big.reason).toContain('resized 180 → 150 BTC at 3×: capital in use would be 60% of equity (limit 50%)');
  });

  it('max_capital_in_use: reduces quoteQty of quote-sized requests', () => {
    const d = new RiskEngine(limits({ sizing: 'all-in' })).evaluate(entry(), ctx());
    expect(d).toMatchObject({ action: 'resize', rule: 'max_capital_in_use', quoteQty: 5_000 });
    expect(d.request?.quoteQty).toBe(5_000);
    expect(d.request?.qty).toBeUndefined();
    expect(d.reason).toContain('resized 10,000.00 → 5,000.00 USDT: capital in use would be 100% of equity (limit 50%)');
  });

  it('insufficient_cash: spot cost incl. fee ≤ free cash, floored to the lot step', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 20 }), ctx({ freeCash: 1_000, takerFee: 0.001 }));
    // 20 × 100 × 1.001 = 2,002 > 1,000 → 1,000 / 100.1 = 9.99000999 → 9.99
    expect(d).toMatchObject({ action: 'resize', rule: 'insufficient_cash', qty: 9.99 });
    expect(d.reason).toBe('resized 20 → 9.99 BTC: cost incl. fee 2,002.00 USDT would exceed the free cash 1,000.00 USDT');
  });

  it('insufficient_cash: perps margin ≤ available margin; none at all rejects', () => {
    const eng = new RiskEngine(limits());
    const d = eng.evaluate(entry({ qty: 10, leverage: 2 }), ctx({ marketType: 'perp', freeCash: 100 }));
    expect(d).toMatchObject({ action: 'resize', rule: 'insufficient_cash', qty: 2 });
    expect(d.reason).toContain('margin + fee 500.00 USDT would exceed the available margin 100.00 USDT');
    const none = eng.evaluate(entry({ qty: 1 }), ctx({ freeCash: 0 }));
    expect(none).toMatchObject({ action: 'reject', rule: 'insufficient_cash' });
  });

  it('min_size: a resize below the minimum order value rejects and says the minimum', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 1 }), ctx({ freeCash: 4 }));
    expect(d).toMatchObject({ action: 'reject', rule: 'min_size' });
    expect(d.request).toBeUndefined();
    expect(d.reason).toContain('0.04 BTC ≈ 4.00 USDT is below the minimum order value 5.00 USDT');
    expect(d.reason).toBe(
      'rejected: 0.04 BTC ≈ 4.00 USDT is below the minimum order value 5.00 USDT (resized because cost incl. fee 100.00 USDT would exceed the free cash 4.00 USDT)',
    );
  });

  it('min_size: a resize below the minimum quantity rejects', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 1 }), ctx({ freeCash: 5.5, minQty: 0.1 }));
    expect(d).toMatchObject({ action: 'reject', rule: 'min_size' });
    expect(d.reason).toContain('0.055 BTC is below the minimum quantity 0.1 BTC');
  });

  it('min_size: quote-sized spends below the minimum value reject', () => {
    const d = new RiskEngine(limits({ sizing: 'all-in', stopLossPct: null })).evaluate(entry(), ctx({ freeCash: 3 }));
    expect(d).toMatchObject({ action: 'reject', rule: 'min_size' });
    expect(d.reason).toContain('3.00 USDT is below the minimum order value 5.00 USDT');
  });

  it('qty_step: an explicit qty off the lot step is rounded down', () => {
    const d = new RiskEngine(limits()).evaluate(entry({ qty: 1.23456 }), ctx());
    expect(d).toMatchObject({ action: 'resize', rule: 'qty_step', qty: 1.234 });
  });

  it('stop_beyond_liquidation: a perp stop the position would be liquidated before reaching rejects', () => {
    const eng = new RiskEngine(limits({ maxLeverage: 10 }));
    // 10×: liquidation ~9.5 % from the entry (1/10 − the 0.5 % maintenance margin).
    const short = eng.evaluate(entry({ side: 'sell', qty: 1, stopLoss: 115, leverage: 10 }), ctx({ marketType: 'perp' }));
    expect(short).toMatchObject({ action: 'reject', rule: 'stop_beyond_liquidation' });
    expect(short.reason).toBe(
      'rejected: the stop-loss 115 (15% away) lies beyond the liquidation price ~109.5 at 10×: the position would be liquidated first. Lower market.leverage or bring the stop closer',
    );
    expect(eng.evaluate(entry({ qty: 1, stopLoss: 85, leverage: 10 }), ctx({ marketType: 'perp' })).rule).toBe('stop_beyond_liquidation');
    // The default stop (stopLossPct) counts too; inside the liquidation price the entry goes.
    const byDefault = new RiskEngine(limits({ maxLeverage: 10, stopLossPct: 0.15 }));
    expect(byDefault.evaluate(entry({ qty: 1, leverage: 10 }), ctx({ marketType: 'perp' })).rule).toBe('stop_beyond_liquidation');
    expect(eng.evaluate(entry({ qty: 1, stopLoss: 92, leverage: 10 }), ctx({ marketType: 'perp' })).action).not.toBe('reject');
    expect(eng.evaluate(entry({ qty: 1, stopLoss: 85, leverage: 5 }), ctx({ marketType: 'perp' })).action).not.toBe('reject');
  });

  it('invalid_stop and spot_long_only', () => {
    const eng = new RiskEngine(limits());
    const bad = eng.evaluate(entry({ stopLoss: 101 }), ctx());
    expect(bad).toMatchObject({ action: 'reject', rule: 'invalid_stop' });
    expect(bad.reason).toContain('the stop 101 is at or above the entry price 100');
    expect(eng.evaluate(entry({ side: 'sell', qty: 1 }), ctx())).toMatchObject({ action: 'reject', rule: 'spot_long_only' });
    // perps shorts: stop above the entry
    expect(eng.evaluate(entry({ side: 'sell', stopLoss: 105, leverage: 1 }), ctx({ marketType: 'perp' }))).toMatchObject({
      action: 'accept',
      qty: 40,
    });
  });
});

describe('blocks: entries stop, exits go through', () => {
  const pos = { side: 'long' as const, qty: 1 };

  it('paused', () => {
    const eng = new RiskEngine(limits());
    eng.pause('alice', T0 - HOUR);
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'paused' });
    expect(d.reason).toBe('rejected: paused by alice since 2026-11-21 11:00 UTC');
    const x = eng.evaluate(exit(1), ctx({ position: pos }));
    expect(x).toMatchObject({ action: 'accept', rule: 'ok', qty: 1 });
    expect(x.reason).toContain('exits are always allowed');
    expect(x.reason).toBe('exit 1 BTC: exits are always allowed (new entries are blocked: paused)');
    const capped = eng.evaluate(exit(2), ctx({ position: pos }));
    expect(capped).toMatchObject({ action: 'resize', rule: 'exit_cap', qty: 1 });
    expect(capped.request?.qty).toBe(1);
    expect(eng.resume('alice', T0)).toEqual({ wasPaused: true, clearedHalt: false, clearedBreaker: false, blocked: null });
    expect(eng.evaluate(entry({ qty: 1 }), ctx()).action).toBe('accept');
  });

  it('a replay labels the times in its refusals with the clock that stamped them', () => {
    let kind: 'candle' | 'after_replay' | 'wall' = 'candle';
    const eng = new RiskEngine(limits(), undefined, { clockKind: () => kind });
    eng.pause('alice', T0 - HOUR);
    expect(eng.evaluate(entry({ qty: 1 }), ctx()).reason).toBe('rejected: paused by alice since 2026-11-21 11:00 UTC (candle time)');
    eng.resume('alice', T0);
    eng.pauseSymbol(SYM, 'bob', T0 - HOUR);
    expect(eng.evaluate(entry({ qty: 1 }), ctx()).reason).toBe('rejected: BTC/USDT paused by bob since 2026-11-21 11:00 UTC (candle time)');
    kind = 'after_replay';
    eng.pause('carol', T0);
    expect(eng.blockedReason(T0)).toBe('paused by carol since 2026-11-21 12:00 UTC (replay time)');
    kind = 'wall';
    expect(eng.blockedReason(T0)).toBe('paused by carol since 2026-11-21 12:00 UTC');
  });

  it('one symbol paused: its entries stop, its exits and other symbols go through; it survives a restart', () => {
    const eng = new RiskEngine(limits());
    expect(eng.pauseSymbol(SYM, 'alice', T0 - HOUR)).toBe(true);
    expect(eng.pauseSymbol(SYM, 'bob', T0)).toBe(false); // already: the first pause stands
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'paused' });
    expect(d.reason).toBe('rejected: BTC/USDT paused by alice since 2026-11-21 11:00 UTC');
    expect(eng.evaluate(exit(1), ctx({ position: pos }))).toMatchObject({ action: 'accept', qty: 1 });
    const other = entry({ qty: 1 });
    other.signal.symbol = other.request.symbol = 'ETH/USDT';
    expect(eng.evaluate(other, ctx()).action).toBe('accept');
    expect(eng.blockedReason(T0)).toBeNull(); // nothing blocks every symbol
    const again = new RiskEngine(limits(), roundTrip(eng.state()));
    expect(again.evaluate(entry({ qty: 1 }), ctx()).rule).toBe('paused');
    expect(again.resumeSymbol(SYM)).toBe(true);
    expect(again.resumeSymbol(SYM)).toBe(false);
    expect(again.evaluate(entry({ qty: 1 }), ctx()).action).toBe('accept');
  });

  it('breaker tripped by hand', () => {
    const eng = new RiskEngine(limits());
    const ev = eng.tripBreaker('reconciliation mismatch', T0);
    expect(ev.kind).toBe('breaker');
    expect(ev.message).toContain('reconciliation mismatch');
    const d = eng.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'circuit_breaker' });
    expect(d.reason).toContain('circuit breaker tripped (reconciliation mismatch)');
    expect(eng.evaluate(exit(1), ctx({ position: pos }))).toMatchObject({ action: 'accept', qty: 1 });
  });

  it('daily halt', () => {
    const eng = new RiskEngine(limits());
    eng.onEquity(T0, 10_000);
    eng.onEquity(T0 + HOUR, 9_000);
    expect(eng.evaluate(entry({ qty: 1 }), ctx()).rule).toBe('daily_drawdown_halt');
    expect(eng.evaluate(exit(1), ctx({ position: pos }))).toMatchObject({ action: 'accept', qty: 1 });
  });

  it('exits must reduce an open position', () => {
    const eng = new RiskEngine(limits());
    expect(eng.evaluate(exit(1), ctx())).toMatchObject({ action: 'reject', rule: 'no_position' });
    expect(eng.evaluate(exit(1, 'buy'), ctx({ position: pos }))).toMatchObject({ action: 'reject', rule: 'not_reducing' });
    const perp = eng.evaluate(
      { ...exit(1), request: { ...exit(1).request, reduceOnly: false } },
      ctx({ marketType: 'perp', position: pos }),
    );
    expect(perp.request?.reduceOnly).toBe(true);
  });
});

describe('daily drawdown', () => {
  it('halts at the limit and lifts itself at the next UTC day', () => {
    const eng = new RiskEngine(limits({ maxDailyDrawdown: 0.05 }));
    expect(eng.onEquity(T0, 10_000)).toBeNull();
    expect(eng.state()).toMatchObject({ dayStart: Date.UTC(2026, 10, 21), dayStartEquity: 10_000, halted: false });
    expect(eng.onEquity(T0 + HOUR, 9_600)).toBeNull();
    const ev = eng.onEquity(T0 + 2 * HOUR, 9_480);
    expect(ev).toMatchObject({ kind: 'halt', until: NEXT_DAY });
    expect(ev!.message).toContain('−5.2% today, limit 5%');
    expect(ev!.message).toContain('2026-11-22 00:00 UTC');
    const d = eng.evaluate(entry({ qty: 1 }), ctx({ now: T0 + 2 * HOUR }));
    expect(d).toMatchObject({ action: 'reject', rule: 'daily_drawdown_halt' });
    expect(d.reason).toBe('rejected: daily drawdown halt (−5.2% today, limit 5%) until 2026-11-22 00:00 UTC');
    expect(eng.blockedReason(T0 + 2 * HOUR)).toBe('daily drawdown halt (−5.2% today, limit 5%) until 2026-11-22 00:00 UTC');

    expect(eng.onEquity(T0 + 3 * HOUR, 10_100)).toBeNull(); // recovering does not lift it
    expect(eng.onEquity(NEXT_DAY - 1, 9_480)).toBeNull();
    expect(eng.state().halted).toBe(true);

    const lifted = eng.onEquity(NEXT_DAY, 9_480);
    expect(lifted?.kind).toBe('halt_lifted');
    expect(eng.state()).toMatchObject({ halted: false, dayStart: NEXT_DAY, dayStartEquity: 9_480 });
    expect(eng.blockedReason(NEXT_DAY)).toBeNull();
    expect(eng.evaluate(entry({ qty: 1 }), ctx({ now: NEXT_DAY })).action).toBe('accept');
  });

  it("the day's start equity survives a restart", () => {
    const a = new RiskEngine(limits());
    a.onEquity(T0, 10_000);
    const b = new RiskEngine(limits(), roundTrip(a.state()));
    expect(b.onEquity(T0 + HOUR, 9_500)?.kind).toBe('halt'); // −5% from the persisted 10,000
    const c = new RiskEngine(limits(), roundTrip(b.state()));
    expect(c.blockedReason(T0 + HOUR)).toContain('daily drawdown halt');
    expect(c.onEquity(NEXT_DAY + HOUR, 9_500)?.kind).toBe('halt_lifted');
  });

  it('resume with clearHalt lifts it and rebases the day so the same loss does not halt again', () => {
    const eng = new RiskEngine(limits());
    eng.onEquity(T0, 10_000);
    eng.onEquity(T0 + HOUR, 9_400);
    expect(eng.resume('bob', T0 + HOUR).blocked).toContain('daily drawdown halt'); // a plain resume keeps it
    const r = eng.resume('bob', T0 + HOUR, { clearHalt: true });
    expect(r).toMatchObject({ clearedHalt: true, blocked: null });
    expect(eng.onEquity(T0 + 2 * HOUR, 9_400)).toBeNull();
    expect(eng.state().dayStartEquity).toBe(9_400);
    expect(eng.onEquity(T0 + 3 * HOUR, 8_900)?.kind).toBe('halt'); // a further 5% still halts
  });

  it('maxDailyDrawdown 0 disables the halt', () => {
    const eng = new RiskEngine(limits({ maxDailyDrawdown: 0 }));
    eng.onEquity(T0, 10_000);
    expect(eng.onEquity(T0 + HOUR, 1_000)).toBeNull();
  });
});

describe('circuit breaker', () => {
  it('trips after N losing trades in a row (a win resets) and survives a restart', () => {
    const lim = limits({ maxConsecutiveLosses: 3 });
    const eng = new RiskEngine(lim);
    expect(eng.onTradeClosed(-10, T0)).toBeNull();
    expect(eng.onTradeClosed(-10, T0)).toBeNull();
    expect(eng.onTradeClosed(5, T0)).toBeNull(); // reset
    expect(eng.onTradeClosed(-1, T0)).toBeNull();
    expect(eng.onTradeClosed(-1, T0)).toBeNull();
    const ev = eng.onTradeClosed(-1, T0);
    expect(ev?.kind).toBe('breaker');
    expect(ev?.message).toContain('3 losing trades in a row (limit 3)');

    const restored = new RiskEngine(lim, roundTrip(eng.state()));
    const d = restored.evaluate(entry({ qty: 1 }), ctx());
    expect(d).toMatchObject({ action: 'reject', rule: 'circuit_breaker' });
    expect(d.reason).toContain('3 losing trades in a row (limit 3)');
    expect(restored.resume('bob', T0).blocked).toContain('circuit breaker'); // plain resume keeps it
    expect(restored.resume('bob', T0, { clearBreaker: true })).toMatchObject({ clearedBreaker: true, blocked: null });
    expect(restored.state()).toMatchObject({ breakerTripped: false, consecutiveLosses: 0 });
    expect(restored.evaluate(entry({ qty: 1 }), ctx()).action).toBe('accept');
  });

  it('trips after N order errors in a row (an ok resets)', () => {
    const eng = new RiskEngine(limits({ maxConsecutiveErrors: 2 }));
    expect(eng.onOrderError('timeout', T0)).toBeNull();
    eng.onOrderOk();
    expect(eng.onOrderError('timeout', T0)).toBeNull();
    const ev = eng.onOrderError('insufficient balance', T0);
    expect(ev?.kind).toBe('breaker');
    expect(ev?.message).toContain('2 order errors in a row (limit 2), last: insufficient balance');
    expect(eng.state().breakerTripped).toBe(true);
  });

  it('0 disables each breaker', () => {
    const eng = new RiskEngine(limits({ maxConsecutiveErrors: 0, maxConsecutiveLosses: 0 }));
    for (let i = 0; i < 20; i++) {
      expect(eng.onOrderError('x', T0)).toBeNull();
      expect(eng.onTradeClosed(-1, T0)).toBeNull();
    }
    expect(eng.blockedReason(T0)).toBeNull();
  });
});

describe('state and persistence', () => {
  it('onChange fires on state changes only, with a JSON-safe snapshot', () => {
    const eng = new RiskEngine(limits());
    const seen: RiskState[] = [];
    eng.onChange = (s) => seen.push(s);
    eng.onEquity(T0, 10_000); // new day
    eng.onEquity(T0 + 60_000, 10_001); // same day, nothing changes
    eng.evaluate(entry({ qty: 1 }), ctx());
    eng.onOrderOk(); // already 0
    expect(seen.length).toBe(1);
    eng.pause('alice', T0);
    eng.recordEntry(T0);
    expect(seen.length).toBe(3);
    const last = seen[2]!;
    expect(roundTrip(last)).toEqual(last);
    expect(last).toMatchObject({ paused: true, pausedBy: 'alice', recentEntries: [T0] });
  });

  it('restores a partial or sloppy state safely', () => {
    const eng = new RiskEngine(limits(), {
      paused: true,
      recentEntries: [3, 1, Number.NaN, 2],
      pausedSymbols: { 'BTC/USDT': { by: 'ada', at: 5 }, 'ETH/USDT': { by: 7 }, 'SOL/USDT': null },
    } as unknown as RiskState);
    expect(eng.state()).toMatchObject({
      paused: true,
      halted: false,
      breakerTripped: false,
      consecutiveLosses: 0,
      recentEntries: [1, 2, 3],
      pausedSymbols: { 'BTC/USDT': { by: 'ada', at: 5 } },
    });
  });
});

describe('setLimit', () => {
  it('rejects unknown keys, listing the known ones, and changes nothing', () => {
    const eng = new RiskEngine(limits());
    const before = { ...eng.limits };
    const r = eng.setLimit('maxRisk', 1);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain('unknown limit "maxRisk"');
      for (const k of LIMIT_KEYS) expect(r.error).toContain(k);
    }
    expect(eng.limits).toEqual(before);
  });

  it('enforces ranges and types, changing nothing on error', () => {
    const eng = new RiskEngine(limits());
    const before = { ...eng.limits };
    const cases: [string, string | number, string][] = [
      ['riskPerTrade', 0.05, 'riskPerTrade must be at least 0.01 and at most 0.03 (1%–3%), got 0.05'],
      ['riskPerTrade', '0.5%', 'at least 0.01'],
      ['riskPerTrade', 'lots', 'riskPerTrade expects a number'],
      ['sizing', 3, 'sizing must be one of risk, all-in, fixed'],
      ['sizing', 'yolo', 'sizing must be one of'],
      ['maxCapitalInUse', 1.5, 'at most 1'],
      ['maxDailyDrawdown', -0.1, 'at least 0'],
      ['maxOpenPositions', 2.5, 'must be a whole number'],
      ['maxLeverage', 200, 'at most 125'],
      ['stopLossPct', 0, 'at least 0.001'], // a stop at (or a hair from) the entry: issue 8 #11
      ['maxVolatility', '', 'expects a number'],
      ['fixedQuote', 0, 'fixedQuote must be above 0'],
    ];
    for (const [key, value, msg] of cases) {
      const r = eng.setLimit(key, value);
      expect(r.ok, `${key}=${value}`).toBe(false);
      if (!r.ok) expect(r.error).toContain(msg);
    }
    expect(eng.limits).toEqual(before);
  });

  it('applies valid values, parsing percents and off', () => {
    const eng = new RiskEngine(limits());
    expect(eng.setLimit('riskPerTrade', '2.5%')).toEqual({ ok: true, old: 0.02, new: 0.025 });
    expect(eng.setLimit('sizing', 'all-in')).toEqual({ ok: true, old: 'risk', new: 'all-in' });
    expect(eng.setLimit('stopLossPct', 'off')).toEqual({ ok: true, old: 0.02, new: null });
    expect(eng.setLimit('maxVolatility', 0.02)).toEqual({ ok: true, old: null, new: 0.02 });
    expect(eng.setLimit('minTradeIntervalSec', '120')).toEqual({ ok: true, old: 60, new: 120 });
    expect(eng.limits).toMatchObject({
      riskPerTrade: 0.025,
      sizing: 'all-in',
      stopLossPct: null,
      maxVolatility: 0.02,
      minTradeIntervalSec: 120,
    });
  });

  it('does not share the limits object it was given', () => {
    const lim = limits();
    const eng = new RiskEngine(lim);
    eng.setLimit('maxOpenPositions', 7);
    expect(lim.maxOpenPositions).toBe(DEFAULT_LIMITS.maxOpenPositions);
    expect(DEFAULT_LIMITS.maxOpenPositions).toBe(3);
  });
});
