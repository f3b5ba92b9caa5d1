// Helpers for tests that run the real ccxt against a local fake venue: one clock (wall time + an
// offset the adapter's injected sleep advances), a real-time wait for asynchronous effects, and a
// listener that records everything the adapter reports.

import type { AlertInput, AlertSink } from '../../src/core/alerts.ts';
import type { MarketType } from '../../src/core/types.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { ExchangeClient } from '../../src/exchange/types.ts';
import type { Journal } from '../../src/journal/journal.ts';
import { CandleValidator } from '../../src/market/validator.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS, type RiskLimits } from '../../src/risk/types.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { Fill } from '../../src/core/types.ts';
import type { ExchangeListener, FundingPayment, OrderUpdate } from '../../src/exchange/types.ts';

export class TestClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (real time) until `cond` holds; throws after `ms`. */
export async function until(cond: () => boolean, what = 'condition', ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await realSleep(5);
  }
}

export class Recorder implements ExchangeListener {
  updates: OrderUpdate[] = [];
  fills: Fill[] = [];
  alerts: AlertInput[] = [];
  connections: Array<[boolean, string]> = [];
  funding: FundingPayment[] = [];
  /** Updates and fills in the order they were heard. */
  log: Array<OrderUpdate | Fill> = [];
  onOrderUpdate(u: OrderUpdate): void {
    this.updates.push(u);
    this.log.push(u);
  }
  onFill(f: Fill): void {
    this.fills.push(f);
    this.log.push(f);
  }
  /** Every update's cumulative filled quantity is covered by fills heard before it. */
  fillsFirst(coid: string): boolean {
    let sum = 0;
    for (const e of this.log) {
      if (e.clientOrderId !== coid) continue;
      if ('tradeId' in e) sum += e.qty;
      else if (e.filledQty !== undefined && e.filledQty > sum + 1e-9) return false;
    }
    return true;
  }
  onAlert(a: AlertInput): void {
    this.alerts.push(a);
  }
  onConnection(up: boolean, detail: string): void {
    this.connections.push([up, detail]);
  }
  onFunding(p: FundingPayment): void {
    this.funding.push(p);
  }
  of(coid: string): OrderUpdate[] {
    return this.updates.filter((u) => u.clientOrderId === coid);
  }
  statuses(coid: string): string[] {
    return this.of(coid).map((u) => u.status);
  }
  last(coid: string): OrderUpdate | undefined {
    return this.of(coid).at(-1);
  }
  fillsOf(coid: string): Fill[] {
    return this.fills.filter((f) => f.clientOrderId === coid);
  }
}

/**
 * A live engine on one symbol with no strategy (orders come from the test through manualOrder), and
 * risk limits that get out of the way: no interval, no default stop, all capital usable.
 */
export function idleEngine(o: {
  clock: Clock;
  journal: Journal;
  exchange: ExchangeClient;
  alerts: AlertSink;
  marketType: MarketType;
  symbol?: string;
  leverage?: number;
  limits?: Partial<RiskLimits>;
  startingCash?: number;
  onReconnect?: (detail: string) => void;
}): Engine {
  const symbol = o.symbol ?? 'BTC/USDT';
  const config = parseConfig({ botId: 'sk', market: { symbols: [symbol], timeframe: '1m', type: o.marketType } });
  return buildEngine(config, {
    mode: 'live',
    clock: o.clock,
    journal: o.journal,
    exchange: o.exchange,
    risk: new RiskEngine({
      ...DEFAULT_LIMITS,
      minTradeIntervalSec: 0,
      stopLossPct: null,
      maxCapitalInUse: 1,
      maxConsecutiveErrors: 0,
      maxTradesPer24h: 1000,
      ...o.limits,
    }),
    alerts: o.alerts,
    strategy: () => ({ name: 'idle', warmup: 0, onCandle: () => null }),
    validator: () => new CandleValidator(symbol, '1m'),
    allowShort: o.marketType === 'perp',
    leverage: o.leverage ?? 1,
    takerFee: 0.001,
    startingCash: o.startingCash ?? 10_000,
    equityEveryMs: 3_600_000,
    persistProgress: false,
    ...(o.onReconnect ? { onReconnect: o.onReconnect } : {}),
  }).engine;
}
