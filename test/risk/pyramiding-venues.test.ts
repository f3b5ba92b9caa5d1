// Pyramiding and scale-outs on Binance spot through the REAL ccxt against the local fake: a strategy's
// repeat entry adds (the venue then holds ONE stop for the whole position, at the recomputed price), and
// an exit signal with a fraction sells that share (the venue's stop is re-placed for the rest).
import { afterEach, describe, expect, test } from 'vitest';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import type { Candle, Order, Signal, SignalAction } from '../../src/core/types.ts';
import { Journal } from '../../src/journal/journal.ts';
import { CandleValidator } from '../../src/market/validator.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS } from '../../src/risk/types.ts';
import { ccxtRig, closeRigs } from '../helpers/ccxt-rig.ts';
import { until } from '../helpers/venue-time.ts';

const SYM = 'BTC/USDT';
afterEach(closeRigs);

describe('pyramiding on the ccxt venues', () => {
  test('Binance spot: an add re-places one stop for the whole position; a half scale-out leaves one stop for the rest', async () => {
    const { ex, fake, clock } = await ccxtRig('binance', 'spot');
    const journal = Journal.memory();
    const queue: Array<{ action: SignalAction; fraction?: number }> = [];
    const config = parseConfig({ botId: 'sk', market: { symbols: [SYM], timeframe: '1m', type: 'spot' } });
    const engine = buildEngine(config, {
      mode: 'live',
      clock,
      journal,
      exchange: ex,
      risk: new RiskEngine({
        ...DEFAULT_LIMITS,
        sizing: 'fixed',
        fixedQuote: 600,
        minTradeIntervalSec: 0,
        maxCapitalInUse: 1,
        maxConsecutiveErrors: 0,
        pyramidMaxAdds: 2,
        pyramidMinStepPct: 0.01,
        pyramidSizeFactor: 0.5,
      }),
      alerts: new MemoryAlertSink(),
      strategy: () => ({
        name: 'queue',
        warmup: 0,
        onCandle: (c: Candle): Signal | null => {
          const next = queue.shift();
          return next ? { symbol: SYM, ts: c.ts + 60_000, price: c.close, strategy: 'queue', reason: 'test', ...next } : null;
        },
      }),
      validator: () => new CandleValidator(SYM, '1m'),
      allowShort: false,
      leverage: 1,
      takerFee: 0.001,
      startingCash: 10_000,
      equityEveryMs: 3_600_000,
      persistProgress: false,
    }).engine;
    const stops = (): Order[] => [...engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    const venueStops = (): string[] =>
      fake.book
        .working()
        .filter((o) => o.kind === 'stop_market')
        .map((o) => `${o.coid}:${o.qty}@${o.stopPrice}`);
    let ts = Math.floor(clock.now() / 60_000) * 60_000 - 5 * 60_000;
    const candle = (px: number, signal?: { action: SignalAction; fraction?: number }): void => {
      if (signal) queue.push(signal);
      fake.setPrice('BTCUSDT', px);
      engine.onCandle(SYM, { ts, open: px, high: px, low: px, close: px, volume: 10 });
      ts += 60_000;
    };
    const settled = (qty: number) => () => {
      const pos = engine.portfolio.positions.get(SYM);
      return (
        pos !== undefined &&
        Math.abs(pos.qty - qty) < 1e-9 &&
        stops().length === 1 &&
        stops()[0]!.status === 'open' &&
        venueStops().length === 1 &&
        ![...engine.liveOrders.values()].some((o) => !o.purpose?.startsWith('stop') && o.purpose !== 'take_profit')
      );
    };

    candle(30_000, { action: 'enter_long' });
    await until(settled(0.02), 'entry filled, stop open', 8000);
    const pos = engine.portfolio.positions.get(SYM)!;
    expect(pos.stopLoss).toBeCloseTo(29_400, 6);

    candle(30_600, { action: 'enter_long' }); // +2%: add 0.02 × 0.5
    await until(settled(0.03), 'add filled, one stop for the whole position', 8000);
    const [stop] = stops();
    expect(stop!.qty).toBeCloseTo(0.03, 10);
    expect(stop!.stopPrice).toBe(pos.stopLoss);
    expect(pos.stopLoss).toBeGreaterThanOrEqual(30_600 * 0.98 - 1e-6); // never looser than the add's own stop
    expect(pos.qty * (pos.entryPrice - pos.stopLoss!)).toBeLessThanOrEqual(0.02 * engine.portfolio.equity());
    expect(venueStops()).toEqual([`${stop!.clientOrderId}:0.03@${stop!.stopPrice}`]);

    candle(30_600, { action: 'exit_long', fraction: 0.5 });
    await until(settled(0.015), 'half sold, stop for the rest', 8000);
    const [rest] = stops();
    expect(venueStops()).toEqual([`${rest!.clientOrderId}:0.015@${pos.stopLoss}`]);
    expect(engine.status().unprotected).toEqual([]);
  });
});
