// What an order may do on the paper exchange: submit()'s synchronous checks and the funds it reserves
// (the rules are part of the fill model: matching.ts).
import { floorToStep, isFiniteNumber } from '../../core/num.ts';
import { plain as fmt } from '../../core/format.ts';
import type { Order } from '../../core/types.ts';
import { PaperBooks, tolerance, type SymState } from './books.ts';

export interface Accepted {
  st: SymState;
  lock: number;
  lockAsset: string;
  leverage: number;
}

export abstract class PaperChecks extends PaperBooks {
  // ---- validation -------------------------------------------------------------------------------

  /** A reason to reject, or what accepting the order reserves. */
  protected check(r: Order): string | Accepted {
    const st = this.syms.get(r.symbol);
    if (st === undefined) return `unknown symbol ${r.symbol}`;
    if (this.orders.has(r.clientOrderId) || this.store?.getOrder(r.clientOrderId))
      return `duplicate client order id ${r.clientOrderId}: an order with this id already exists`;
    const m = st.market;
    const { side, type, tif } = r;
    if (side !== 'buy' && side !== 'sell') return `invalid side ${String(side)}`;
    if (type !== 'market' && type !== 'limit' && type !== 'stop_market' && type !== 'stop_limit')
      return `unknown order type ${String(type)}`;
    if (tif !== 'GTC' && tif !== 'IOC' && tif !== 'PO') return `unknown time in force ${String(tif)}`;
    if (tif === 'PO' && type !== 'limit') return 'post-only is only for limit orders';
    if (tif === 'IOC' && type !== 'market' && type !== 'limit') return 'IOC is only for market and limit orders';

    const byQuote = r.quoteQty != null;
    if (byQuote) {
      if (type !== 'market' || side !== 'buy') return 'a quote amount (quoteQty) is only allowed on market buys';
      if (r.qty != null) return 'give either a quantity or a quote amount, not both';
      if (!(isFiniteNumber(r.quoteQty) && r.quoteQty > 0)) return 'quote amount must be a positive number';
    } else {
      if (!(isFiniteNumber(r.qty) && r.qty > 0)) return 'quantity missing or not a positive number';
      if (r.qty < m.minQty - st.eps) return `quantity ${fmt(r.qty)} is below the minimum ${fmt(m.minQty)}`;
      if (m.qtyStep > 0 && Math.abs(r.qty / m.qtyStep - Math.round(r.qty / m.qtyStep)) > 1e-6)
        return `quantity ${fmt(r.qty)} is not a multiple of the step ${fmt(m.qtyStep)}`;
    }
    if ((type === 'limit' || type === 'stop_limit') && !(isFiniteNumber(r.price) && r.price > 0))
      return 'limit price missing or not a positive number';
    if ((type === 'stop_market' || type === 'stop_limit') && !(isFiniteNumber(r.stopPrice) && r.stopPrice > 0))
      return 'stop price missing or not a positive number';

    const pos = st.pos;
    let leverage = 1;
    if (this.perp) {
      if (r.leverage != null) {
        if (!(isFiniteNumber(r.leverage) && r.leverage >= 1)) return 'leverage must be at least 1';
        if (r.leverage > m.maxLeverage) return `leverage ${fmt(r.leverage)} is above the maximum ${fmt(m.maxLeverage)} for ${r.symbol}`;
        leverage = r.leverage;
      } else leverage = pos?.leverage ?? 1;
    } else if (r.leverage != null && r.leverage !== 1) return 'spot orders cannot use leverage';

    const last = st.lastPrice;
    if (tif === 'PO' && (side === 'buy' ? r.price! >= last : r.price! <= last)) return 'post-only order would take liquidity';

    if (r.reduceOnly) {
      if (pos === null || (pos.side === 'long') !== (side === 'sell')) return 'reduce-only order but there is no position to reduce';
      return { st, lock: 0, lockAsset: m.quote, leverage: pos.leverage };
    }

    // Price the order: the limit, the stop, or (market) the last price with slippage; NaN = unknown.
    const px = type === 'market' ? last * (side === 'buy' ? this.slipUp : this.slipDown) : type === 'stop_market' ? r.stopPrice! : r.price!;
    const qty = byQuote ? floorToStep(r.quoteQty! / (px * (1 + this.takerFee)), m.qtyStep) : r.qty!;
    if (byQuote && Number.isFinite(px) && (!(qty > 0) || qty < m.minQty - st.eps)) return 'insufficient funds for the minimum quantity';
    const value = byQuote ? r.quoteQty! : qty * (type === 'stop_market' ? r.stopPrice! : type === 'market' ? last : r.price!);
    if (value < m.minNotional) return `order value ${fmt(value)} ${m.quote} is below the minimum ${fmt(m.minNotional)}`;
    const resting = type !== 'market';

    if (!this.perp) {
      if (side === 'sell') {
        const free = this.freeOf(m.base);
        if (qty > free + st.eps) return `insufficient ${m.base} balance: ${fmt(free)} free, ${fmt(qty)} needed (spot cannot sell short)`;
        return { st, lock: resting ? qty : 0, lockAsset: m.base, leverage: 1 };
      }
      const free = this.freeOf(m.quote);
      const feeRate = type === 'limit' || type === 'stop_limit' ? Math.max(this.makerFee, this.takerFee) : this.takerFee;
      const need = byQuote ? r.quoteQty! : qty * (type === 'stop_market' ? r.stopPrice! * this.slipUp : px) * (1 + feeRate);
      if (need > free + tolerance(need)) return `insufficient ${m.quote} balance: ${fmt(free)} free, about ${fmt(need)} needed`;
      return { st, lock: resting ? need : 0, lockAsset: m.quote, leverage: 1 };
    }

    // Perps: initial margin for the part that opens or grows a position, plus the taker fee.
    const against = pos !== null && (pos.side === 'long') === (side === 'sell') ? pos.qty : 0;
    const lev = pos !== null && against === 0 ? pos.leverage : leverage;
    const margin = (Math.max(0, qty - against) * px) / lev;
    const need = margin + qty * px * this.takerFee;
    const free = this.freeOf(m.quote);
    if (need > free + tolerance(need)) return `insufficient margin: ${fmt(free)} ${m.quote} free, about ${fmt(need)} needed`;
    return { st, lock: resting ? margin : 0, lockAsset: m.quote, leverage };
  }
}
