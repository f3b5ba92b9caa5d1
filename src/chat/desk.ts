// The commands' view of the engine: read models (orders, positions, risk) and the few controls that
// are not engine methods (risk limits, per-trade settings). Commands use this, never the engine's
// internals (engine.risk, liveOrders, exchange, portfolio, journal): test/architecture.test.ts checks.
import type { Order } from '../core/types.ts';
import type { Engine, EngineStatus } from '../engine/engine.ts';
import { isEntryOrder } from '../engine/in-flight.ts';
import type { BookPosition } from '../engine/portfolio.ts';
import { setTradeSettings, type TradeSettings } from '../engine/trades.ts';
import type { ExchangeClient } from '../exchange/types.ts';
import { STATE, type SavedRiskLimits } from '../journal/state-keys.ts';
import { RiskEngine, type SetLimitResult } from '../risk/engine.ts';
import type { RiskLimits, RiskState } from '../risk/types.ts';
import type { Services } from './services.ts';

export interface RiskView {
  limits: Readonly<RiskLimits>;
  state: RiskState;
  /** Why entries are blocked now, or null. */
  blocked: string | null;
  /** Limits changed from chat (/risk set), kept across restarts. */
  saved: SavedRiskLimits;
  /** Rolling volatility per bar, null while warming up or untracked. */
  volatility(symbol: string): number | null;
}

/** The venue's market reads a reply may add (perp funding, open interest). */
export type VenueReads = Pick<ExchangeClient, 'name' | 'nativeTrailing' | 'fetchFundingRate' | 'fetchOpenInterest'>;

export class Desk {
  private readonly engine: Engine;

  constructor(private readonly services: Pick<Services, 'engine' | 'journal' | 'clock'>) {
    this.engine = services.engine;
  }

  status(): EngineStatus {
    return this.engine.status();
  }

  /** Working orders (the live objects: their status moves as the venue answers). */
  orders(): Order[] {
    return [...this.engine.liveOrders.values()];
  }

  /** Working orders that open or add to a position (a resting limit buy, a grid's buys): a pause leaves them. */
  entryOrders(symbol?: string): Order[] {
    return this.orders().filter((o) => isEntryOrder(o) && (symbol === undefined || o.symbol === symbol));
  }

  /** A working order by its client order id; undefined once it has ended. */
  order(clientOrderId: string): Order | undefined {
    return this.engine.liveOrders.get(clientOrderId);
  }

  /** A journaled order, working or ended. */
  journaledOrder(clientOrderId: string): Order | undefined {
    return this.engine.liveOrders.get(clientOrderId) ?? this.services.journal.getOrder(clientOrderId) ?? undefined;
  }

  /** Open positions by symbol. */
  positions(): ReadonlyMap<string, BookPosition> {
    return this.engine.portfolio.positions;
  }

  risk(): RiskView {
    const r = this.engine.risk;
    return {
      limits: r.limits,
      state: r.state(),
      blocked: r.blockedReason(this.engine.status().now),
      saved: STATE.riskLimits.read(this.services.journal),
      volatility: (symbol) => r.volatility(symbol),
    };
  }

  /** What setting a limit would do, on a scratch copy: nothing changes. */
  checkRiskLimit(key: string, raw: string): SetLimitResult {
    return new RiskEngine({ ...this.engine.risk.limits }).setLimit(key, raw);
  }

  /** Set a limit now and keep it across restarts (chat changes win over the config file). */
  setRiskLimit(key: string, raw: string): SetLimitResult {
    const r = this.engine.risk.setLimit(key, raw);
    if (!r.ok) return r;
    const saved = STATE.riskLimits.read(this.services.journal);
    STATE.riskLimits.write(this.services.journal, { ...saved, [key]: r.new as string | number | null }, this.services.clock.now());
    return r;
  }

  /**
   * Per-trade settings (trailing stop), from the engine's next candle on; a venue that trails
   * natively takes a trail over (or hands it back) at once. True when the stop is being replaced now.
   */
  setTradeSettings(positionId: number, change: TradeSettings): boolean {
    setTradeSettings(this.engine.journal, positionId, change, this.engine.status().now);
    const pos = [...this.engine.portfolio.positions.values()].find((p) => p.id === positionId);
    if (pos === undefined || !('trailingStopPct' in change)) return false;
    const now = this.engine.nativeTrails.takeOver(pos, this.engine.lastPrice(pos.symbol));
    if (now === false) return false;
    this.engine.setProtection(pos.symbol, now === true ? {} : { stopLoss: now });
    return true;
  }

  venue(): VenueReads {
    return this.engine.exchange;
  }
}

/** The desk of a command's services. */
export const deskOf = (services: Pick<Services, 'engine' | 'journal' | 'clock'>): Desk => new Desk(services);
