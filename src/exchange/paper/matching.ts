/*
 * THE FILL MODEL
 *
 * submit(order) validates synchronously. Rejected, with a plain-words reason: unknown symbol,
 * duplicate client order id (the existing order is left untouched), missing/invalid qty, price or
 * stop price for the type, a quantity below minQty or off the qty step, an order value below
 * minNotional (reduce-only exempt), `quoteQty` on anything but a market buy, post-only on a
 * non-limit, IOC on a stop, reduce-only with no position to reduce, a spot sell above the free base
 * balance (spot is long-only), not enough quote for a buy (market orders estimated at the last
 * price × slippage), not enough margin on perps, leverage < 1 or above the market's maximum,
 * leverage on spot, and a post-only limit that would take liquidity against the last price.
 * Accepted orders answer {status: 'open', exchangeOrderId: 'P<seq>'}. Resting orders (limit and
 * stop) lock funds: spot buys lock quote (qty × limit price × (1 + the larger fee); a stop-market
 * buy qty × stop × slippage × (1 + taker)), spot sells lock base, perps lock the initial margin
 * (notional / leverage) of the part that would open or grow a position. Market orders lock nothing:
 * funds are checked again when they fill. Reduce-only orders lock nothing either: a stop-loss and a
 * take-profit on the same position work like an OCO pair (see below).
 *
 * processCandle(symbol, c) matches the symbol's working orders in this order:
 *  1. At the open: market orders (and stop-markets triggered on an earlier candle that still have
 *     quantity left) fill at c.open × (1 + bps/1e4) for buys, × (1 − bps/1e4) for sells, taker fee.
 *     A market buy with `quoteQty` buys qty = floorToStep(quoteQty / (fillPrice × (1 + takerFee)),
 *     qtyStep); below minQty it ends 'expired' ("insufficient funds for the minimum quantity")
 *     (the order was already accepted, and open → rejected is not a legal move; submit rejects
 *     the same case up front when a last price is known). IOC orders are matched here too, on their
 *     first candle only: a market IOC like a market order; a limit IOC fills at c.open as taker if the
 *     open is through its limit; whatever is not filled then 'expired'.
 *  2. Stops. A sell stop triggers when c.low ≤ stopPrice, a buy stop when c.high ≥ stopPrice. The
 *     trigger price is the stop, or c.open when the candle opened beyond it (gap).
 *     stop_market fills at the trigger price with slippage, taker.
 *     stop_limit becomes a limit at `price`. Same candle, conservatively: if the trigger price is
 *     within the limit (sell: trigger ≥ limit; buy: trigger ≤ limit) it fills at once as taker at
 *     the trigger price with slippage, never worse than the limit; if it triggered on a gap at the
 *     open and the rest of the candle trades through the limit (sell: c.high > limit; buy: c.low <
 *     limit), it fills at the limit as maker. Otherwise it rests as a limit from the next candle
 *     (we cannot tell whether the candle's extreme came after the trigger).
 *  3. Perps liquidation (isolated margin). If the candle's range crosses the position's liquidation
 *     price (liquidationPrice() from core/accounting with `mmr`), the position is closed at the
 *     liquidation price by a venue-generated order (clientOrderId 'liq-<seq>', tradeId
 *     'PT<seq>-liq', taker). The whole isolated margin is lost: the fill's fee is what the loss at the
 *     liquidation price leaves of the margin (the clearance fee a real venue's insurance fund keeps),
 *     so wallet += realizedPnl − fee = −margin, the same thing the bot computes from the fill.
 *     The position's reduce-only orders are cancelled.
 *  4. Limit orders (GTC, post-only, and stop-limits triggered on an earlier candle): a buy fills when
 *     c.low < price, a sell when c.high > price — the candle must trade THROUGH the limit, a touch
 *     does not fill. A GTC limit on its first candle whose open is already through the limit was
 *     marketable on arrival: it fills at c.open as taker. Otherwise (and always for post-only and
 *     for orders that have rested a candle, which a gap would have hit in the book) it fills at the
 *     limit price as maker.
 * After the data ends (a finished replay: freeze()), market orders fill at once at the last close,
 * taker, so a trader can still close positions; resting orders stay as they are.
 *
 * Stops before limits: when one candle touches both a stop-loss and a take-profit of the same
 * position, the stop wins (conservative). Each order fills at most once per candle.
 *
 * Reduce-only orders never increase or flip a position: a fill is capped at the position (the order
 * then counts as filled, reason "reduce-only: quantity capped at the position"), and whenever a
 * position is closed (or flipped, or liquidated) the symbol's reduce-only orders that no longer
 * reduce it are cancelled ("reduce-only: position closed").
 *
 * maxVolumeParticipation (off by default): an order fills at most floorToStep(fraction × c.volume)
 * per candle; the rest stays working ('partially_filled') for the next candles (a market order at
 * the next open; a quoteQty buy keeps the quantity sized on its first fill). IOC remainders expire.
 *
 * Fills: tradeId 'PT<seq>', fee = rate × qty × price in the quote currency. Spot: buy → quote −=
 * qty × price + fee, base += qty; sell → base −= qty, quote += qty × price − fee. Perps: one net
 * position per symbol (applyFill from core/accounting), wallet += realizedPnl − fee, isolated margin
 * qty × entry / leverage is held as `locked` in the quote balance (free + locked = wallet). A
 * position keeps the leverage of the order that opened it. Fill prices are not rounded to the price
 * step. A fill emits onFill first, then onOrderUpdate (filled / partially_filled, cumulative
 * filledQty). All timestamps come from the injected clock.
 */
import { applyFill } from '../../core/accounting.ts';
import { plain as fmt } from '../../core/format.ts';
import { decimalsOf, roundTo, floorToStep } from '../../core/num.ts';
import { isPossiblePrice } from '../../core/prices.ts';
import type { Candle, Fill, Liquidity, Side } from '../../core/types.ts';
import { isWorking, snap, tolerance, type SymState } from './books.ts';
import { PaperChecks } from './checks.ts';
import type { PaperOrder } from './store.ts';

export abstract class PaperMatching extends PaperChecks {
  // ---- SimulatedVenue ---------------------------------------------------------------------------

  /** Hot path: with no working order (and no perp position to liquidate) this is a few comparisons. */
  processCandle(symbol: string, c: Candle): void {
    let st = this.hot;
    if (st === undefined || st.symbol !== symbol) {
      st = this.syms.get(symbol);
      if (st === undefined) return;
      this.hot = st;
    }
    if (c.ts <= st.lastTs) return; // seen already
    // The validator keeps such candles out; this venue never trades on one regardless.
    if (!(isPossiblePrice(c.low) && isPossiblePrice(c.high) && isPossiblePrice(c.open) && isPossiblePrice(c.close))) return;
    st.lastTs = c.ts;
    st.lastPrice = c.close;
    if (st.working.length === 0) {
      const p = st.pos;
      if (p === null || !this.perp) return;
      if (p.side === 'long' ? c.low > st.liq : c.high < st.liq) return;
    }
    this.match(st, c);
  }

  // ---- matching ---------------------------------------------------------------------------------

  protected match(st: SymState, c: Candle): void {
    this.depth++;
    const w = st.working;
    const n = w.length; // orders arriving during matching wait for the next candle
    const { slipUp, slipDown } = this;

    // 1. At the open: market orders, triggered stop-markets with quantity left, IOC orders.
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.afterTs >= c.ts || !isWorking(o)) continue;
      if (o.type === 'market' || (o.type === 'stop_market' && o.triggerTs !== 0)) {
        this.execute(st, o, c, o.side === 'buy' ? c.open * slipUp : c.open * slipDown, 'taker', true);
      } else if (o.type === 'limit' && o.tif === 'IOC') {
        const p = o.price!;
        if (o.side === 'buy' ? c.open < p : c.open > p) this.execute(st, o, c, c.open, 'taker', true);
      } else continue;
      if (o.tif === 'IOC' && isWorking(o)) {
        this.finish(st, o, 'expired', o.filledQty > 0 ? 'IOC: the rest of the order expired' : 'IOC: could not fill at the open');
      }
    }

    // 2. Stops.
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.triggerTs !== 0 || (o.type !== 'stop_market' && o.type !== 'stop_limit') || o.afterTs >= c.ts || !isWorking(o)) continue;
      const s = o.stopPrice!;
      const sell = o.side === 'sell';
      if (sell ? c.low > s : c.high < s) continue;
      o.triggerTs = c.ts;
      this.dirty(o);
      const gap = sell ? c.open < s : c.open > s;
      const t = gap ? c.open : s;
      if (o.type === 'stop_market') {
        this.execute(st, o, c, sell ? t * slipDown : t * slipUp, 'taker', gap);
        continue;
      }
      const limit = o.price!;
      if (sell ? t >= limit : t <= limit) {
        this.execute(st, o, c, sell ? Math.max(limit, t * slipDown) : Math.min(limit, t * slipUp), 'taker', gap);
      } else if (gap && (sell ? c.high > limit : c.low < limit)) {
        this.execute(st, o, c, limit, 'maker', false);
      }
    }

    // 3. Liquidation.
    const p = st.pos;
    if (this.perp && p !== null && (p.side === 'long' ? c.low <= st.liq : c.high >= st.liq)) this.liquidate(st);

    // 4. Limits (and stop-limits triggered on an earlier candle).
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.afterTs >= c.ts || !isWorking(o)) continue;
      if (o.type === 'limit') {
        if (o.tif === 'IOC') continue;
      } else if (o.type !== 'stop_limit' || o.triggerTs === 0 || o.triggerTs === c.ts) continue;
      const limit = o.price!;
      const buy = o.side === 'buy';
      if (buy ? c.low >= limit : c.high <= limit) continue; // a touch does not fill
      if (o.fresh && (buy ? c.open < limit : c.open > limit)) this.execute(st, o, c, c.open, 'taker', true);
      else this.execute(st, o, c, limit, 'maker', false);
    }

    // 5. Limits that met their first candle are resting orders from now on.
    for (let i = 0; i < n; i++) {
      const o = w[i]!;
      if (o.fresh && o.afterTs < c.ts) {
        o.fresh = false;
        if (isWorking(o)) this.dirty(o);
      }
    }

    this.depth--;
    if (st.compact) {
      st.compact = false;
      let k = 0;
      for (let i = 0; i < w.length; i++) if (isWorking(w[i]!)) w[k++] = w[i]!;
      w.length = k;
    }
    this.flush();
  }

  /**
   * Fill what can be filled of `o` at `price` on candle `c`. A fill at the open is stamped with the
   * candle's open time; one inside the candle with the candle's close (when it is known to have happened).
   */
  protected execute(st: SymState, o: PaperOrder, c: Candle, price: number, liquidity: Liquidity, atOpen: boolean): void {
    if (!isPossiblePrice(price)) return; // never a fill at an impossible price: the order keeps working
    const m = st.market;
    const rate = liquidity === 'maker' ? this.makerFee : this.takerFee;
    if (o.qty === 0) {
      // quoteQty market buy: sized on its first fill (the backtest contract's formula).
      // Literally floor(quote / (price × (1 + fee)) / step) × step: no epsilon, as the contract reads.
      const q = roundTo(Math.floor(o.quoteQty! / (price * (1 + rate)) / m.qtyStep) * m.qtyStep, decimalsOf(m.qtyStep));
      if (!(q > 0) || q < m.minQty - st.eps) {
        this.finish(st, o, 'expired', 'insufficient funds for the minimum quantity');
        return;
      }
      o.qty = q;
    }
    const rest = o.qty - o.filledQty;
    let q = rest;
    let cap = Infinity;
    if (o.reduceOnly) {
      cap = this.reducible(st, o.side);
      if (cap <= st.eps) {
        if (!this.reduces(st, o.side)) this.finish(st, o, 'cancelled', 'reduce-only: position closed');
        return; // (spot: the base it would sell is locked by another order for now)
      }
      if (q > cap) q = cap;
    }
    if (this.maxPart > 0) {
      const vcap = floorToStep(this.maxPart * c.volume, m.qtyStep);
      if (!(vcap > 0)) return; // nothing tradable for us on this candle
      if (q > vcap) q = vcap;
    }

    const notional = q * price;
    const fee = notional * rate;
    const release = o.locked > 0 ? o.locked * Math.min(1, q / rest) : 0;
    const quote = this.bal(m.quote);
    const ts = atOpen ? c.ts : this.clock.now();
    const pos = st.pos;

    if (this.perp) {
      const eff = applyFill(pos, o.side, q, price, fee, 'perp');
      const np = eff.position;
      const lev = pos !== null && np !== null && np.side === pos.side ? pos.leverage : o.leverage;
      const m0 = pos?.margin ?? 0;
      const m1 = np !== null ? (np.qty * np.entryPrice) / lev : 0;
      const dFree = release + eff.cashDelta + m0 - m1;
      if (eff.openedQty > 0 && quote.free + dFree < -tolerance(m1)) {
        this.finish(
          st,
          o,
          'expired',
          `insufficient margin at fill time: ${fmt(quote.free + release)} ${m.quote} free, ${fmt(m1 - m0 + fee)} needed`,
        );
        return;
      }
      quote.free += dFree;
      quote.locked += m1 - m0 - release;
      this.setPosition(st, np, lev, eff.realizedPnl, fee, ts);
    } else if (o.side === 'buy') {
      const dFree = release - notional - fee;
      if (quote.free + dFree < -tolerance(notional)) {
        this.finish(
          st,
          o,
          'expired',
          `insufficient ${m.quote} balance at fill time: ${fmt(quote.free + release)} free, ${fmt(notional + fee)} needed`,
        );
        return;
      }
      quote.free += dFree;
      quote.locked -= release;
      this.bal(m.base).free += q;
      const eff = applyFill(pos, 'buy', q, price, fee, 'spot');
      this.setPosition(st, eff.position, 1, 0, fee, ts);
    } else {
      const base = this.bal(m.base);
      if (base.free + release - q < -st.eps) {
        this.finish(st, o, 'expired', `insufficient ${m.base} balance at fill time: ${fmt(base.free + release)} free, ${fmt(q)} needed`);
        return;
      }
      base.free += release - q;
      base.locked -= release;
      snap(base);
      quote.free += notional - fee;
      if (pos !== null) {
        // Spot positions only track what was bought here; selling other holdings changes none.
        const closing = Math.min(q, pos.qty);
        const eff = applyFill(pos, 'sell', closing, price, 0, 'spot');
        this.setPosition(st, eff.position, 1, eff.realizedPnl, (fee * closing) / q, ts);
      }
    }
    o.locked -= release;
    snap(quote);

    const filled = o.filledQty + q;
    o.avgPrice = (o.avgPrice * o.filledQty + price * q) / filled;
    o.filledQty = filled;
    o.fee += fee;
    o.updatedAt = ts;
    const fill: Fill = {
      tradeId: `PT${++this.seq.trade}`,
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      symbol: st.symbol,
      side: o.side,
      price,
      qty: q,
      fee,
      feeCurrency: m.quote,
      liquidity,
      ts,
    };
    this.recordFill(st, fill);
    const capped = q >= cap - st.eps && o.qty - filled > st.eps;
    if (capped || o.qty - filled <= st.eps) {
      o.status = 'filled';
      if (capped) o.reason = 'reduce-only: quantity capped at the position';
      this.retire(st, o);
    } else o.status = 'partially_filled';
    this.dirty(o);
    this.events.push(this.updateOf(o, ts));
    this.dropStaleReduceOnly(st, 'reduce-only: position closed');
  }

  protected liquidate(st: SymState): void {
    const p = st.pos!;
    const m = st.market;
    const ts = this.clock.now();
    const side: Side = p.side === 'long' ? 'sell' : 'buy';
    const price = st.liq;
    const eff = applyFill(p, side, p.qty, price, 0, 'perp');
    const fee = Math.max(0, p.margin + eff.realizedPnl); // what is left of the margin goes too
    const quote = this.bal(m.quote);
    quote.free += eff.realizedPnl - fee + p.margin;
    quote.locked -= p.margin;
    snap(quote);
    const seq = ++this.seq.order;
    const o: PaperOrder = {
      seq,
      clientOrderId: `liq-${seq}`,
      exchangeOrderId: `P${seq}`,
      symbol: st.symbol,
      side,
      type: 'market',
      tif: 'IOC',
      qty: p.qty,
      reduceOnly: true,
      leverage: p.leverage,
      status: 'filled',
      filledQty: p.qty,
      avgPrice: price,
      fee,
      locked: 0,
      lockAsset: m.quote,
      triggerTs: 0,
      fresh: false,
      afterTs: st.lastTs,
      createdAt: ts,
      updatedAt: ts,
      reason: `liquidation of the ${p.side} position at ${fmt(price)}`,
      liquidation: true,
    };
    this.orders.set(o.clientOrderId, o);
    this.dirty(o);
    const fill: Fill = {
      tradeId: `PT${++this.seq.trade}-liq`,
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      symbol: st.symbol,
      side,
      price,
      qty: p.qty,
      fee,
      feeCurrency: m.quote,
      liquidity: 'taker',
      ts,
    };
    this.setPosition(st, null, p.leverage, eff.realizedPnl, fee, ts);
    this.recordFill(st, fill);
    this.events.push(this.updateOf(o, ts));
    this.dropStaleReduceOnly(st, 'reduce-only: position liquidated');
  }
}
