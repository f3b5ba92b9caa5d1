// Venue-native trailing stops (Binance USDⓈ-M TRAILING_STOP_MARKET, Bybit linear trailingStop): which
// trades the venue trails itself. The trail starts where the bot's own trail would first move the stop
// (activation reached, never looser than the current stop): from then on the protective stop is one
// native trailing stop (a stop_market with trailPct), placed and replaced by the protection keeper like
// any stop. Elsewhere (paper, spot) the bot moves a stop order.
import { isTerminal } from '../core/order-state.ts';
import type { Order } from '../core/types.ts';
import type { NativeTrailing } from '../exchange/types.ts';
import type { RiskLimits } from '../risk/types.ts';
import type { BookPosition } from './portfolio.ts';
import type { TradingJournal } from './ports.ts';
import { tradeSettings } from './trades.ts';

export interface NativeTrailHost {
  readonly journal: TradingJournal;
  readonly liveOrders: ReadonlyMap<string, Order>;
  readonly risk: { readonly limits: RiskLimits };
  readonly exchange: { readonly nativeTrailing?: NativeTrailing | null };
}

const pctText = (x: number): string => `${+(x * 100).toFixed(4)}%`;

/** Why the venue cannot trail `pct` itself, or null (also null when it has no native trailing: the bot trails). */
export function nativeTrailRefusal(venue: { readonly nativeTrailing?: NativeTrailing | null }, pct: number): string | null {
  const n = venue.nativeTrailing;
  if (n == null || (pct >= n.minPct - 1e-12 && pct <= n.maxPct + 1e-12)) return null;
  return `${n.label} trail stops themselves with a distance of ${pctText(n.minPct)} to ${pctText(n.maxPct)}: ${pctText(pct)} is outside`;
}

export class NativeTrails {
  /** Trades whose trail has started (position ids); a working native trailing stop also counts. */
  private readonly armed = new Set<number>();

  constructor(private readonly host: NativeTrailHost) {}

  /** The trade's trail, when the venue can trail it itself. */
  usable(pos: BookPosition): number | null {
    const h = this.host;
    if (h.exchange.nativeTrailing == null) return null;
    const own = tradeSettings(h.journal, pos.id).trailingStopPct;
    const pct = own !== undefined ? own : h.risk.limits.trailingStopPct;
    if (pct == null || !(pct > 0) || nativeTrailRefusal(h.exchange, pct) !== null) return null;
    return pct;
  }

  /** The trail distance the trade's stop order should have now; null: a fixed stop. */
  forStop(pos: BookPosition): number | null {
    const pct = this.usable(pos);
    if (pct === null) return null;
    return this.armed.has(pos.id) || this.working(pos.symbol) !== undefined ? pct : null;
  }

  /** The bot's trail would move the stop now: the venue takes over from here. */
  arm(pos: BookPosition): void {
    if (this.usable(pos) !== null) this.armed.add(pos.id);
  }

  /**
   * /trail on a venue that trails natively, at the last price: false when nothing changes now;
   * true when the working native stop must be replaced (its distance changed, or off); else the
   * trail starts now, at this stop level (activation reached, tighter than the current stop).
   */
  takeOver(pos: BookPosition, last: number): boolean | number {
    const pct = this.usable(pos);
    if (pct === null || this.working(pos.symbol) !== undefined) return this.stale(pos);
    const long = pos.side === 'long';
    const favourable = long ? last / pos.entryPrice - 1 : 1 - last / pos.entryPrice;
    if (!(Number.isFinite(last) && last > 0) || favourable < this.host.risk.limits.trailingActivationPct) return false;
    const stop = last * (long ? 1 - pct : 1 + pct);
    if (pos.stopLoss !== undefined && (long ? stop <= pos.stopLoss : stop >= pos.stopLoss)) return false;
    this.armed.add(pos.id);
    return stop;
  }

  /** The working stop is not what the trade's trail asks for (/trail changed or off). */
  stale(pos: BookPosition): boolean {
    if (this.host.exchange.nativeTrailing == null) return false; // paper and backtests: nothing to scan
    const live = this.working(pos.symbol);
    if (live === undefined) return false;
    const want = this.forStop(pos);
    if (want === null) this.armed.delete(pos.id);
    return want === null || Math.abs(want - live) > 1e-12;
  }

  /** The trail distance of the symbol's working native trailing stop, if any. */
  private working(symbol: string): number | undefined {
    for (const o of this.host.liveOrders.values())
      if (o.symbol === symbol && o.purpose === 'stop_loss' && o.trailPct !== undefined && !isTerminal(o.status)) return o.trailPct;
    return undefined;
  }
}
