// An engine on the live adapter with the REAL ccxt against a local fake venue (ccxt-rig.ts), idle
// (no feed), fed one candle at 30,000 so prices are known; with the probes the venue tests share.
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import type { Candle, Order } from '../../src/core/types.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { Journal } from '../../src/journal/journal.ts';
import type { RiskLimits } from '../../src/risk/types.ts';
import type { FakeBinance } from '../fakes/exchange/binance.ts';
import type { FakeBybit } from '../fakes/exchange/bybit.ts';
import { ccxtRig } from './ccxt-rig.ts';
import { idleEngine } from './venue-time.ts';

export type Fake = FakeBinance | FakeBybit;
export const SYM = 'BTC/USDT';

/** Stops at 2 % unless `limits` says otherwise. Close with ccxt-rig's closeRigs (afterEach). */
export async function venueEngine(venue: 'binance' | 'bybit', type: 'spot' | 'perp', limits: Partial<RiskLimits> = {}) {
  const { ex, fake, clock } = await ccxtRig(venue, type);
  const journal = Journal.memory();
  const alerts = new MemoryAlertSink();
  const engine = idleEngine({
    clock,
    journal,
    exchange: ex,
    alerts,
    marketType: type,
    leverage: 1,
    limits: { stopLossPct: 0.02, ...limits },
  });
  const t0 = Math.floor(clock.now() / 60_000) * 60_000 - 60_000;
  const candle: Candle = { ts: t0, open: 30_000, high: 30_010, low: 29_990, close: 30_000, volume: 10 };
  engine.onCandle(SYM, candle);
  return { fake, engine, journal, alerts };
}

/** The engine's stop-loss orders. */
export const stopsOf = (e: Engine): Order[] => [...e.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');

/** A trader's market buy of `qty` BTC. */
export const manualBuy = (e: Engine, qty: number): Order => e.manualOrder({ symbol: SYM, side: 'buy', qty }, 'ada').order!;

/** The fake's working stop orders: quantity and trigger. */
export const venueStops = (fake: Fake): string[] =>
  fake.book
    .working()
    .filter((o) => o.kind === 'stop_market')
    .map((o) => `${o.coid}:${o.qty}@${o.stopPrice}`);
