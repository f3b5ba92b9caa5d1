// Per-candle rules on open positions: the trailing stop and the maximum holding time. The bot moves
// its own stop order (through the protection keeper, crash-safely); on a venue that trails natively
// (native-trail.ts) the first move hands the stop over to a native trailing order instead.
import type { AlertInput } from '../core/alerts.ts';
import { duration } from '../core/format.ts';
import type { Candle, MarketType, Order, OrderPurpose } from '../core/types.ts';
import type { RiskLimits } from '../risk/types.ts';
import type { BookPosition } from './portfolio.ts';
import type { TradingJournal } from './ports.ts';
import type { NativeTrails } from './native-trail.ts';
import { inFlight, isExit, standAside } from './in-flight.ts';
import { setTradeSettings, tradeId, tradeSettings } from './trades.ts';

/** What the rules need from the engine (all public engine members). */
export interface PositionRulesHost {
  readonly marketType: MarketType;
  readonly journal: TradingJournal;
  readonly liveOrders: ReadonlyMap<string, Order>;
  readonly risk: { readonly limits: RiskLimits };
  readonly portfolio: { readonly positions: ReadonlyMap<string, BookPosition> };
  readonly nativeTrails: NativeTrails;
  closeAll(symbol: string, by: string, purpose?: OrderPurpose): { order: Order | null; replaced: Order[] };
  setProtection(symbol: string, promise: { stopLoss?: number }): void;
  onAlert(alert: AlertInput): void;
}

/** A trail moves the stop only by at least this fraction of the price (not one order per tick). */
const MIN_TRAIL_STEP = 1e-4;

export class PositionRules {
  constructor(private readonly host: PositionRulesHost) {}

  /**
   * After the venue has matched this candle: max hold first (a position being closed needs no
   * trail), then the trail. The stop moves on the candle's close from its high (long) / low (short):
   * it protects from the next candle on, so a candle that both extends and reverses never fills at
   * a stop it raised itself (conservative).
   */
  onCandle(symbol: string, candle: Candle, now: number): void {
    const h = this.host;
    const pos = h.portfolio.positions.get(symbol);
    if (pos === undefined || this.busy(symbol, false)) return;
    const lim = h.risk.limits;
    const own = tradeSettings(h.journal, pos.id);
    if (this.closeIfTooOld(pos, own.maxHoldMinutes, now)) return;
    if (this.busy(symbol, true)) return;
    // A native trailing stop the trade's trail no longer asks for (/trail changed or off): replaced.
    if (h.nativeTrails.stale(pos)) h.setProtection(symbol, {});
    const pct = own.trailingStopPct !== undefined ? own.trailingStopPct : lim.trailingStopPct;
    if (pct == null || !(pct > 0)) return;
    const long = pos.side === 'long';
    const best = long ? candle.high : candle.low;
    const favourable = long ? best / pos.entryPrice - 1 : 1 - best / pos.entryPrice;
    if (favourable < lim.trailingActivationPct) return;
    const stop = best * (long ? 1 - pct : 1 + pct);
    const cur = pos.stopLoss;
    const step = stop * MIN_TRAIL_STEP;
    if (cur !== undefined && (long ? stop <= cur + step : stop >= cur - step)) return;
    // A stop at or beyond the close would trigger at once (a live venue refuses it): leave the current one.
    if (long ? stop >= candle.close : stop <= candle.close) return;
    h.nativeTrails.arm(pos);
    if (!own.trailed) setTradeSettings(h.journal, pos.id, { trailed: true }, now);
    h.setProtection(symbol, { stopLoss: stop });
  }

  /**
   * Max holding time between candles (the engine's timer asks): a replay that has ended, or a live feed
   * that brings no candle, must not let a position outlive it.
   */
  checkAge(symbol: string, now: number): void {
    const pos = this.host.portfolio.positions.get(symbol);
    if (pos === undefined || this.busy(symbol, false)) return;
    this.closeIfTooOld(pos, tradeSettings(this.host.journal, pos.id).maxHoldMinutes, now);
  }

  /** The trade's own max hold (/hold), else the limit's; closes it once reached. */
  private closeIfTooOld(pos: BookPosition, own: number | null | undefined, now: number): boolean {
    const hold = own !== undefined ? own : this.host.risk.limits.maxHoldMinutes;
    if (hold == null || now - pos.openedAt < hold * 60_000) return false;
    this.closeForAge(pos, hold); // a resting exit does not defer it: the close replaces it
    return true;
  }

  private closeForAge(pos: BookPosition, minutes: number): void {
    const why = `max holding time ${duration(minutes * 60_000)} reached (trade ${tradeId(pos)})`;
    const { order, replaced } = this.host.closeAll(pos.symbol, why, 'max_hold');
    const cancelled = replaced.length ? ` (${replaced.map((o) => o.clientOrderId).join(', ')} cancelled first)` : '';
    this.host.onAlert({
      type: 'position_closed',
      severity: 'warning',
      title: `Max holding time: closing ${pos.side} ${pos.symbol} ${tradeId(pos)}`,
      message: order
        ? `${why}: closing at market with ${order.clientOrderId}${cancelled}.`
        : `${why}, but the exit was refused (see /risk): the position stays open.`,
      key: `max-hold:${pos.id}`,
    });
  }

  /**
   * An entry or exit of the symbol is in flight (the engine's one test: on its way, in doubt, or a
   * market order still filling, such as an exit closing it now), or a protective order is on its way;
   * with `exits`, also any working exit that lifted the stop a trail would move (standAside: on perps a
   * resting exit leaves it in place, and the trail goes on).
   */
  private busy(symbol: string, exits: boolean): boolean {
    for (const o of this.host.liveOrders.values()) {
      if (o.symbol !== symbol) continue;
      if (inFlight(o) || o.status === 'new' || o.status === 'submitted') return true;
      if (exits && isExit(o) && standAside(o, this.host.marketType).has('stop_loss')) return true;
    }
    return false;
  }
}
