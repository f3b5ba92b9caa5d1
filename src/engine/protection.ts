import type { AlertInput } from '../core/alerts.ts';
import { price, qty } from '../core/format.ts';
import { decimalsOf, floorToStep, roundTo } from '../core/num.ts';
import { isTerminal, notPlaced } from '../core/order-state.ts';
import { bracketOf, type Bracket, type MarketType, type Order, type OrderPurpose, type OrderRequest, type Side } from '../core/types.ts';
import { exitingQty, inFlight, isExit, PROTECTIVE, standAside } from './in-flight.ts';
import type { BookPosition } from './portfolio.ts';

export { PROTECTIVE };

/** What the protection keeper needs from the engine. */
export interface ProtectionHost {
  readonly marketType: MarketType;
  readonly venue: string;
  position(symbol: string): BookPosition | undefined;
  liveOrders(): Iterable<Order>;
  qtyStep(symbol: string): number;
  priceStep(symbol: string): number | undefined;
  lastPrice(symbol: string): number;
  /** The trail distance of the position's stop when the venue trails it (a native trailing order); null: a fixed stop. */
  nativeTrail(pos: BookPosition): number | null;
  /** Default distances for positions that were never promised a price (adopted ones). */
  defaults(): { stopLossPct: number | null; takeProfitPct: number | null };
  /** Journal an order (status `new`) without sending it. */
  record(request: OrderRequest, purpose: OrderPurpose, decisionId?: number): Order;
  send(order: Order): void;
  /** Cancel at the venue (an order it has); `why`: what the order's journal row says once it is cancelled. */
  cancelAtVenue(order: Order, why?: string): void;
  /** Close out an order the venue never saw. */
  cancelUnsent(order: Order, reason: string): void;
  savePosition(pos: BookPosition): void;
  raise(alert: AlertInput): void;
  /** Close the position at market as its stop-loss (the stop's trigger is already passed). */
  exitAtStop(symbol: string, why: string): Order | null;
  /** Close the position at market as its take-profit (spot: the bot watches it, see byBot). */
  exitAtTakeProfit(symbol: string, why: string): Order | null;
  /** The working exits of `symbol` on `side` that rest at the venue (a close at the stop cancels them). */
  restingExits(symbol: string, side: Side): Order[];
}

type Kind = 'stop_loss' | 'take_profit';
const NONE_ASIDE: ReadonlySet<Order['purpose']> = new Set();
const REPLACED = 'replaced by a protective order for the whole position';
const TP_BY_BOT = 'the stop-loss needs the coins (spot): the bot watches the take-profit';
/** Protective orders of a symbol lost in a row before that counts as a refusal (a venue that keeps losing them). */
const MAX_LOST = 3;
export interface ProtectionGap {
  symbol: string;
  detail: string;
}

/**
 * Keeps every open position covered by the stop-loss / take-profit it was promised, sized for the
 * whole position: after an entry, a manual order, an add, a partial exit, an adoption, and at start.
 * A replacement is journaled before the old order is cancelled. On spot the old order holds the
 * coins the new one sells, so the new one waits (journaled, unsent) until the old one is gone; on
 * perps the old one is cancelled once the venue has accepted the new one. A protective order the
 * venue refuses is a critical alert, and the position is listed in gaps() (`/status`) until it is
 * covered again.
 *
 * On spot a stop-loss and a take-profit would each hold the position's coins at the venue, which
 * takes them once (Binance answers the second "insufficient balance"; its OCO pair is not built).
 * The stop-loss is the one that protects: it stays at the venue, and the bot watches the take-profit
 * itself (watchTakeProfit), closing at market when a candle reaches it. A spot position without a
 * stop-loss gets its take-profit order at the venue.
 */
export class ProtectionKeeper {
  /** Spot: replacements journaled but not sent: client order id → the orders they wait on. */
  private readonly waiting = new Map<string, { order: Order; replacing: Set<string> }>();
  /** Perps: replacements sent: client order id → the orders to cancel once the venue has accepted it. */
  private readonly retiring = new Map<string, Order[]>();
  /** Why the last protective order of a symbol was refused (for /status). */
  private readonly refused = new Map<string, string>();
  /** Protective orders of a symbol that never reached the venue, in a row. */
  private readonly lost = new Map<string, number>();

  constructor(private readonly host: ProtectionHost) {}

  /**
   * Make the position's protective orders match it. `promise`: the stop / take-profit of the order
   * that just grew the position (they apply to the whole position from now on).
   */
  ensure(symbol: string, promise: Bracket = {}, decisionId?: number): Order[] {
    const h = this.host;
    const placed: Order[] = [];
    const pos = h.position(symbol);
    if (!pos) return placed;
    let changed = false;
    if (promise.stopLoss !== undefined && promise.stopLoss !== pos.stopLoss) {
      pos.stopLoss = promise.stopLoss;
      changed = true;
    }
    if (promise.takeProfit !== undefined && promise.takeProfit !== pos.takeProfit) {
      pos.takeProfit = promise.takeProfit;
      changed = true;
    }
    const target = this.target(pos);
    if (pos.stopLoss === undefined && target.stop_loss !== undefined) {
      pos.stopLoss = target.stop_loss;
      changed = true;
    }
    if (pos.takeProfit === undefined && target.take_profit !== undefined) {
      pos.takeProfit = target.take_profit;
      changed = true;
    }
    if (changed) h.savePosition(pos);
    if (target.stop_loss === undefined && target.take_profit === undefined) return placed; // nothing promised
    // A working exit has cancelled (or will cancel) what stands aside for it; that comes back once the exit is done.
    const mine = this.ordersOf(symbol);
    const aside = this.asideFor(mine);
    if (aside.has('stop_loss')) return placed;
    if (mine.some((o) => PROTECTIVE.has(o.purpose) && o.status === 'partially_filled')) return placed; // closing now
    const step = h.qtyStep(symbol);
    const whole = floorToStep(pos.qty, step);
    if (!(whole > 0)) return placed;
    const side: Side = pos.side === 'long' ? 'sell' : 'buy';
    const trail = h.nativeTrail(pos);
    // Spot with a stop: take-profit orders (placed before the stop was promised, or by an older
    // version) give their coins back to the stop, which waits for them as for an old stop.
    const tpHolders: Order[] = [];
    if (this.takeProfitByBot(pos))
      for (const o of mine) {
        if (o.purpose !== 'take_profit') continue;
        if (this.dropUnsent(o, TP_BY_BOT) || o.status === 'new') continue;
        tpHolders.push(o); // cancelled below, once a new stop waits for them (a paper cancel is at once)
      }
    for (const kind of ['stop_loss', 'take_profit'] as const) {
      const px = target[kind];
      if (px === undefined || (kind === 'take_profit' && this.takeProfitByBot(pos))) continue;
      let qty = whole;
      if (aside.has(kind)) {
        // Perps, resting exits at the venue: the take-profit covers what they leave. (One still
        // waiting for the take-profit to go, exitGuards, comes first.)
        if (mine.some((o) => isExit(o) && o.status === 'new')) continue;
        qty = floorToStep(pos.qty - exitingQty(mine, symbol, pos.side), step);
        if (!(qty > 0)) continue;
      }
      const current = mine.filter((o) => o.purpose === kind);
      const trailPct = kind === 'stop_loss' ? trail : null;
      if (current.length === 1 && this.matches(current[0]!, kind, side, px, qty, symbol, trailPct)) continue;
      const request: OrderRequest =
        kind === 'stop_loss'
          ? {
              symbol,
              side,
              type: 'stop_market',
              stopPrice: px,
              qty,
              tif: 'GTC',
              reduceOnly: true,
              ...(trailPct !== null ? { trailPct } : {}),
            }
          : { symbol, side, type: 'limit', price: px, qty, tif: 'GTC', reduceOnly: true };
      this.refused.delete(symbol);
      const fresh = h.record(request, kind, decisionId);
      placed.push(fresh);
      const sent = current.filter((o) => !this.waiting.has(o.clientOrderId));
      for (const o of current) if (o.status === 'new') this.dropUnsent(o, REPLACED);
      const holders = kind === 'stop_loss' ? [...sent, ...tpHolders] : sent;
      if (holders.length === 0) h.send(fresh);
      else if (h.marketType === 'spot') {
        this.waiting.set(fresh.clientOrderId, { order: fresh, replacing: new Set(holders.map((o) => o.clientOrderId)) });
        for (const o of sent) h.cancelAtVenue(o, `replaced by ${fresh.clientOrderId}`);
      } else {
        this.retiring.set(fresh.clientOrderId, sent);
        h.send(fresh);
      }
    }
    for (const o of tpHolders) h.cancelAtVenue(o, TP_BY_BOT);
    return placed;
  }

  /**
   * A partial exit goes out now that the position's protection is gone (on spot it held the coins
   * the exit sells): what will be left is protected at once, in the same step, not after the fill.
   * The remainder's stop locks only the coins the exit does not sell.
   */
  coverRest(symbol: string, exits: readonly Order[]): void {
    const pos = this.host.position(symbol);
    if (!pos || this.ordersOf(symbol).some((o) => PROTECTIVE.has(o.purpose))) return;
    const side: Side = pos.side === 'long' ? 'sell' : 'buy';
    const exitQty = exits.filter((o) => o.side === side).reduce((t, o) => t + (o.qty ?? pos.qty), 0);
    const qty = floorToStep(pos.qty - Math.min(pos.qty, exitQty), this.host.qtyStep(symbol));
    if (!(qty > 0)) return;
    const target = this.target(pos);
    if (target.stop_loss !== undefined) {
      const stop: OrderRequest = { symbol, side, type: 'stop_market', stopPrice: target.stop_loss, qty, tif: 'GTC', reduceOnly: true };
      this.host.send(this.host.record(stop, 'stop_loss'));
    }
    if (target.take_profit !== undefined && !this.takeProfitByBot(pos, target.stop_loss)) {
      const tp: OrderRequest = { symbol, side, type: 'limit', price: target.take_profit, qty, tif: 'GTC', reduceOnly: true };
      this.host.send(this.host.record(tp, 'take_profit'));
    }
  }

  /**
   * The bot's own watch over a stop-loss that is not (all) at the venue: lifted while a resting exit
   * holds the position, or refused. A candle through it closes the position, as the stop would have
   * (Freqtrade checks its stop-loss in the bot too). The caller passes positions that have a stop-loss
   * (hot path). True: a close went out.
   */
  watch(pos: BookPosition, low: number, high: number): boolean {
    const stop = pos.stopLoss;
    if (stop === undefined || (pos.side === 'long' ? low > stop : high < stop)) return false;
    const symbol = pos.symbol;
    const step = this.host.qtyStep(symbol);
    let covered = 0;
    for (const o of this.ordersOf(symbol)) {
      if (o.purpose === 'stop_loss') covered += Math.max(0, (o.qty ?? 0) - o.filledQty);
      else if (inFlight(o) && o.reduceOnly) return false; // an exit (a stop exit too) is on its way
    }
    if (covered >= pos.qty - step / 2) return false; // the venue's stop has it
    const why = this.refused.get(symbol);
    const size = `${pos.side} ${floorToStep(pos.qty, step)} ${symbol}`;
    const px = (x: number) => price(x, this.host.priceStep(symbol));
    this.closeAtStop(
      symbol,
      {
        title: `${symbol} stop-loss reached: closing`,
        message:
          `The ${pos.side === 'long' ? 'low' : 'high'} ${px(pos.side === 'long' ? low : high)} went through the stop-loss ${px(stop)} of the ${size} position, ` +
          `${covered > 0 ? `whose stop order at the venue covered only ${floorToStep(covered, step)}` : 'which had no stop order at the venue'}` +
          `${why !== undefined ? ` (${why})` : ' (a resting exit held it)'}. Closing it at market as the stop-loss; resting exits are cancelled first.`,
        key: `stop-watch:${symbol}`,
      },
      `stop-loss ${stop} reached`,
      `Its stop-loss ${px(stop)} was reached, but the ${size} position could not be closed`,
    );
    return true;
  }

  /**
   * Spot with a stop-loss: the take-profit is the bot's to watch (the stop holds the coins at the venue).
   * `stopLoss`: the stop the position has or is about to get (coverRest's, before the position is saved).
   */
  takeProfitByBot(pos: BookPosition, stopLoss = pos.stopLoss): boolean {
    return this.host.marketType === 'spot' && stopLoss !== undefined;
  }

  /**
   * The bot's watch over a take-profit that is not at the venue (takeProfitByBot): a candle that
   * reaches it closes the position at market, recorded as a take-profit exit. Not while the bot is
   * down (the stop-loss is at the venue then). The caller passes positions with a take-profit (hot
   * path). True: a close went out.
   */
  watchTakeProfit(pos: BookPosition, low: number, high: number): boolean {
    const tp = pos.takeProfit;
    if (tp === undefined || !this.takeProfitByBot(pos) || (pos.side === 'long' ? high < tp : low > tp)) return false;
    for (const o of this.ordersOf(pos.symbol)) if (inFlight(o) && o.reduceOnly) return false; // an exit is on its way (inFlight: never a protective order)
    const px = (x: number) => price(x, this.host.priceStep(pos.symbol));
    return this.host.exitAtTakeProfit(pos.symbol, `take-profit ${px(tp)} reached`) !== null;
  }

  /** A stop-loss filled all it was sized for and part of the position is still open (a resting exit held it): the rest goes too. */
  afterStopFill(stop: Order, rest: BookPosition): void {
    const step = this.host.qtyStep(stop.symbol);
    if (stop.qty === undefined || stop.filledQty < stop.qty - step / 2) return; // more of its fills to come
    if (rest.side !== (stop.side === 'sell' ? 'long' : 'short')) return;
    const holders = this.host.restingExits(stop.symbol, stop.side);
    const q = (x: number) => qty(x, step);
    const what = `the ${rest.side} ${stop.symbol} position`;
    this.closeAtStop(
      stop.symbol,
      {
        title: `${stop.symbol} stop-loss hit: closing the rest`,
        message:
          `The stop-loss ${stop.clientOrderId} sold ${q(stop.filledQty)} of ${what}; ${q(rest.qty)} is still open` +
          `${holders.length ? `, held by ${holders.map((o) => o.clientOrderId).join(', ')} (cancelled now)` : ''}. Closing it at market as the stop-loss.`,
        key: `stop-rest:${stop.symbol}`,
        data: { clientOrderId: stop.clientOrderId },
      },
      `stop-loss ${stop.clientOrderId} fired`,
      `Its stop-loss ${stop.clientOrderId} fired, but the rest of ${what} could not be closed`,
    );
  }

  /**
   * Close at market as the stop-loss. The warning goes first (the paper venue's fills report
   * themselves at once); a close that cannot be placed is a critical alert.
   */
  private closeAtStop(symbol: string, warning: Pick<AlertInput, 'title' | 'message' | 'key' | 'data'>, why: string, failed: string): void {
    this.host.raise({ type: 'stop_hit', severity: 'warning', ...warning });
    const exit = this.host.exitAtStop(symbol, why);
    if (exit === null || exit.status === 'rejected')
      this.host.raise({
        type: 'order_rejected',
        severity: 'critical',
        title: `${symbol} position UNPROTECTED`,
        message: `${failed}${exit ? `: ${exit.reason ?? 'rejected'}` : ''}. Close it yourself (/close ${symbol}).`,
        key: `unprotected:${symbol}:stop_loss`,
      });
  }

  /** A market exit for all that is left of the position is working: nothing to protect or close again. */
  private closingAll(pos: BookPosition, orders: readonly Order[]): boolean {
    const half = this.host.qtyStep(pos.symbol) / 2;
    return orders.some(
      (o) => isExit(o) && o.type === 'market' && !isTerminal(o.status) && (o.qty === undefined || o.qty - o.filledQty >= pos.qty - half),
    );
  }

  /** The protective purposes the working exits among `orders` keep aside (standAside). */
  private asideFor(orders: readonly Order[]): ReadonlySet<Order['purpose']> {
    let aside: ReadonlySet<Order['purpose']> = NONE_ASIDE;
    for (const o of orders) {
      if (!isExit(o)) continue;
      const a = standAside(o, this.host.marketType);
      if (a.size > aside.size) aside = a; // (all protection ⊃ the take-profit alone)
    }
    return aside;
  }

  /** Every open position (at start, after reconciliation). */
  ensureAll(symbols: Iterable<string>): void {
    for (const s of symbols) this.ensure(s);
  }

  /** Every order status change; `from`: the status before. */
  afterOrder(o: Order, from: Order['status']): void {
    if (PROTECTIVE.has(o.purpose)) {
      const old = this.retiring.get(o.clientOrderId);
      if (old !== undefined && o.status !== 'submitted' && o.status !== 'unknown') {
        this.retiring.delete(o.clientOrderId);
        // Accepted: the orders it replaces go. Refused: they stay, covering what they cover.
        if (o.status === 'open' || o.status === 'partially_filled' || o.status === 'filled') {
          for (const x of old) if (!isTerminal(x.status)) this.host.cancelAtVenue(x, `replaced by ${o.clientOrderId}`);
        }
      }
      if (o.status === 'open' || o.status === 'filled') this.lost.delete(o.symbol);
      if (!isTerminal(o.status)) return;
      this.release(o.clientOrderId);
      if (notPlaced(o) && this.host.position(o.symbol)) return this.onLost(o);
      // (`new` → rejected: it never left the process, e.g. closed out after a crash; start-up re-protects.)
      const refused = o.status === 'expired' || (o.status === 'rejected' && from !== 'new');
      if (refused && this.host.position(o.symbol)) this.onRefused(o);
      return;
    }
    if (!isTerminal(o.status) && (o.status !== 'partially_filled' || o.type === 'market')) return;
    // An exit filled at the venue, its fills not all booked yet (a status read before the trades): the position
    // is not what it will be. Each fill calls back here (Engine.onFill); protecting now would protect a closing
    // position. (Exits only: a spot buy books its quantity net of a base-coin fee, never the whole.)
    if (o.reduceOnly && o.status === 'filled' && o.qty !== undefined && o.filledQty < o.qty - this.host.qtyStep(o.symbol) / 2) return;
    const grew = !o.reduceOnly && o.filledQty > 0;
    this.ensure(o.symbol, grew ? bracketOf(o) : {}, o.decisionId);
  }

  /** Drop a replacement that was never sent. True if it was one. */
  dropUnsent(o: Order, reason: string): boolean {
    if (!this.waiting.delete(o.clientOrderId)) return false;
    this.host.cancelUnsent(o, reason);
    return true;
  }

  /** Open positions without the protection they were promised, in plain words. */
  gaps(symbols: Iterable<string>): ProtectionGap[] {
    const out: ProtectionGap[] = [];
    for (const symbol of symbols) {
      const pos = this.host.position(symbol);
      if (!pos) continue;
      const target = this.target(pos);
      if (target.stop_loss === undefined) continue;
      const step = this.host.qtyStep(symbol);
      const qty = floorToStep(pos.qty, step);
      const mine = this.ordersOf(symbol);
      const sum = mine.filter((o) => o.purpose === 'stop_loss').reduce((t, o) => t + Math.max(0, (o.qty ?? 0) - o.filledQty), 0);
      const covered = step > 0 ? roundTo(sum, decimalsOf(step)) : sum;
      const exits = mine.filter((o) => isExit(o) && standAside(o, this.host.marketType).has('stop_loss'));
      const leaving = exits.reduce((t, o) => t + Math.max(0, (o.qty ?? qty) - o.filledQty), 0);
      if (covered >= qty - step / 2 || (covered > 0 && covered >= qty - leaving - step / 2)) continue;
      const exiting = exits.length > 0;
      const why = this.refused.get(symbol);
      out.push({
        symbol,
        detail: exiting
          ? 'stop-loss lifted while an exit order works'
          : covered > 0
            ? `stop-loss covers ${covered} of ${qty}${why !== undefined ? `: ${why}` : ''}`
            : `no stop-loss${why !== undefined ? `: ${why}` : ' order'}`,
      });
    }
    return out;
  }

  /** The venue never got it (the bot stopped, the request was lost) or turned it away for its rate limit: no refusal, so placed again at once. */
  private onLost(o: Order): void {
    const n = (this.lost.get(o.symbol) ?? 0) + 1;
    if (n >= MAX_LOST) {
      this.lost.delete(o.symbol);
      return this.onRefused(o);
    }
    this.lost.set(o.symbol, n);
    const what = o.purpose === 'stop_loss' ? 'stop-loss' : 'take-profit';
    const again = this.ensure(o.symbol, {}, o.decisionId).find((x) => x.purpose === o.purpose);
    this.host.raise({
      type: 'order_rejected',
      severity: 'warning',
      title: `${o.symbol} ${what} placed again`,
      message:
        `The ${what} ${o.clientOrderId} ${o.reason ?? ''}; ` +
        (again ? `placed again as ${again.clientOrderId}.` : 'nothing new was needed (the position is covered, or an exit is closing it).'),
      key: `replaced-lost:${o.symbol}:${o.purpose ?? ''}`,
      data: { clientOrderId: o.clientOrderId, ...(again ? { replacement: again.clientOrderId } : {}) },
    });
  }

  private onRefused(o: Order): void {
    const what = o.purpose === 'stop_loss' ? 'stop-loss' : 'take-profit';
    const how = notPlaced(o)
      ? `not placed by ${this.host.venue} (${MAX_LOST} in a row)`
      : `${o.status === 'expired' ? 'expired' : 'refused'} by ${this.host.venue}`;
    const reason = `${what} ${o.clientOrderId} ${how}: ${o.reason ?? 'no reason given'}`;
    const pos = this.host.position(o.symbol);
    const step = this.host.qtyStep(o.symbol);
    const size = pos ? `${pos.side} ${step > 0 ? floorToStep(pos.qty, step) : pos.qty} ` : '';
    if (o.purpose === 'take_profit') {
      // The stop-loss is what protects: a missing take-profit leaves the position open, not bare.
      this.host.raise({
        type: 'order_rejected',
        severity: 'warning',
        title: `${o.symbol} take-profit not placed`,
        message: `The take-profit for the ${size}${o.symbol} position was not placed: ${reason}. ${pos?.stopLoss !== undefined ? 'Its stop-loss is not affected; ' : ''}/tp ${o.symbol} <price> sets one again.`,
        key: `tp-refused:${o.symbol}`,
        data: { clientOrderId: o.clientOrderId },
      });
      return;
    }
    this.refused.set(o.symbol, reason);
    // The price is already through the stop (a gap, a fast market): exit now, as the stop would have,
    // rather than leave the position without one (Freqtrade's emergency exit does the same). The venue
    // says so (triggerPassed), or our own last price does (a venue whose refusal code is ambiguous).
    const last = this.host.lastPrice(o.symbol);
    const passedByLast =
      pos !== undefined && o.stopPrice !== undefined && last > 0 && (pos.side === 'long' ? last <= o.stopPrice : last >= o.stopPrice);
    // A close of all of it already on its way (a stop exit after a partial stop fill): it is the exit.
    if (pos !== undefined && this.closingAll(pos, this.ordersOf(o.symbol))) {
      this.refused.delete(o.symbol);
      return;
    }
    const exit =
      o.purpose === 'stop_loss' && (o.triggerPassed || passedByLast)
        ? this.host.exitAtStop(o.symbol, `stop-loss ${o.clientOrderId} already passed`)
        : null;
    if (exit !== null && exit.status !== 'rejected') {
      this.refused.delete(o.symbol);
      this.host.raise({
        type: 'stop_hit',
        severity: 'warning',
        title: `${o.symbol} stop-loss already passed: closing`,
        message:
          `The stop-loss ${o.clientOrderId} for the ${size}${o.symbol} position was refused by ${this.host.venue}: ${(o.reason ?? 'no reason given').replace(/\.$/, '')}` +
          `${o.triggerPassed ? '' : `; the last price ${price(last, this.host.priceStep(o.symbol))} is through it`}. ` +
          `Closing the position at market as the stop would have: order ${exit.clientOrderId}.`,
        key: `stop-passed:${o.symbol}`,
        data: { clientOrderId: o.clientOrderId, exit: exit.clientOrderId },
      });
      return;
    }
    this.host.raise({
      type: 'order_rejected',
      severity: 'critical',
      title: `${o.symbol} position UNPROTECTED`,
      message:
        `The ${what} for the ${size}${o.symbol} position was not placed: ${reason}. ` +
        `Close it (/close ${o.symbol}) or protect it on the venue yourself.`,
      key: `unprotected:${o.symbol}:${o.purpose ?? ''}`,
      data: { clientOrderId: o.clientOrderId },
    });
  }

  /** Replacements waiting on `gone` go out once nothing they replace is left. */
  private release(gone: string): void {
    for (const [coid, w] of this.waiting) {
      if (!w.replacing.delete(gone) || w.replacing.size > 0) continue;
      this.waiting.delete(coid);
      const pos = this.host.position(w.order.symbol);
      const qty = pos ? floorToStep(pos.qty, this.host.qtyStep(w.order.symbol)) : 0;
      if (!(qty > 0)) {
        this.host.cancelUnsent(w.order, 'not sent: the position had closed');
        continue;
      }
      if (w.order.qty !== undefined && w.order.qty > qty) w.order.qty = qty;
      this.host.send(w.order);
    }
  }

  private ordersOf(symbol: string): Order[] {
    const out: Order[] = [];
    for (const o of this.host.liveOrders()) if (o.symbol === symbol) out.push(o);
    return out;
  }

  private matches(o: Order, kind: Kind, side: Side, px: number, qty: number, symbol: string, trailPct: number | null): boolean {
    const at = kind === 'stop_loss' ? o.stopPrice : o.price;
    const rest = (o.qty ?? 0) - o.filledQty;
    // A native trailing stop moves at the venue: its distance counts, not where it started.
    if ((o.trailPct ?? null) !== trailPct) return false;
    return (
      o.side === side &&
      at !== undefined &&
      (trailPct !== null || Math.abs(at - px) <= Math.abs(px) * 1e-12) &&
      Math.abs(rest - qty) <= this.host.qtyStep(symbol) / 2
    );
  }

  /**
   * The prices a position is protected at: the ones it was promised, else (adopted positions) the
   * configured distances from the worse of entry and last price, so a stop never starts out triggered.
   */
  private target(pos: BookPosition): Partial<Record<Kind, number>> {
    const out: Partial<Record<Kind, number>> = {};
    const d = this.host.defaults();
    const last = this.host.lastPrice(pos.symbol);
    const known = Number.isFinite(last) && last > 0;
    const long = pos.side === 'long';
    if (pos.stopLoss !== undefined) out.stop_loss = pos.stopLoss;
    else if (d.stopLossPct != null) {
      const ref = known ? (long ? Math.min(pos.entryPrice, last) : Math.max(pos.entryPrice, last)) : pos.entryPrice;
      out.stop_loss = ref * (long ? 1 - d.stopLossPct : 1 + d.stopLossPct);
    }
    if (pos.takeProfit !== undefined) out.take_profit = pos.takeProfit;
    else if (d.takeProfitPct != null) {
      const ref = known ? (long ? Math.max(pos.entryPrice, last) : Math.min(pos.entryPrice, last)) : pos.entryPrice;
      out.take_profit = ref * (long ? 1 + d.takeProfitPct : 1 - d.takeProfitPct);
    }
    return out;
  }
}
