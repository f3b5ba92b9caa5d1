import { applyFill, liquidationPrice, unrealizedPnl, type FillEffect } from '../core/accounting.ts';
import type { Fill, MarketType, Position } from '../core/types.ts';
import type { PositionRow } from '../journal/journal.ts';

/** A position as the bot books it, with the journal row it lives in. */
export interface BookPosition extends Position {
  id: number;
  maxQty: number;
  strategy?: string;
}

export interface PortfolioFill {
  effect: FillEffect;
  /** The position before the fill (a copy), if there was one. */
  before: BookPosition | null;
  /** The position after the fill, or null when it closed. */
  after: BookPosition | null;
  /** A position that this fill closed completely (it may also have opened a new one: a flip). */
  closed: BookPosition | null;
  /** True when this fill opened a new position (from flat, or the new side of a flip). */
  opened: boolean;
}

/**
 * The bot's own books: quote cash (the wallet) and one net position per symbol. Rebuilt from the
 * journal at start (cash = starting cash + all fill cash flows; positions = open rows).
 */
export class Portfolio {
  readonly positions = new Map<string, BookPosition>();

  constructor(
    readonly marketType: MarketType,
    public cash: number,
  ) {}

  static fromJournal(marketType: MarketType, cash: number, rows: PositionRow[]): Portfolio {
    const p = new Portfolio(marketType, cash);
    for (const r of rows) {
      const pos: BookPosition = {
        id: r.id,
        symbol: r.symbol,
        side: r.side,
        qty: r.qty,
        maxQty: r.maxQty,
        entryPrice: r.entryPrice,
        leverage: r.leverage,
        margin: r.margin,
        realizedPnl: r.realizedPnl,
        fees: r.fees,
        openedAt: r.openedAt,
        markPrice: r.entryPrice,
        unrealizedPnl: 0,
      };
      if (r.liquidationPrice != null) pos.liquidationPrice = r.liquidationPrice;
      if (r.stopLoss != null) pos.stopLoss = r.stopLoss;
      if (r.takeProfit != null) pos.takeProfit = r.takeProfit;
      if (r.strategy != null) pos.strategy = r.strategy;
      p.positions.set(r.symbol, pos);
    }
    return p;
  }

  /** What a fill would do, without changing anything (the journal records it first). */
  preview(fill: Fill): FillEffect {
    const pos = this.positions.get(fill.symbol) ?? null;
    return applyFill(pos, fill.side, fill.qty, fill.price, fill.fee, this.marketType);
  }

  /**
   * Book a fill. `newId` is called to get a journal id when a position opens. Leverage applies to
   * new positions (perps).
   */
  apply(fill: Fill, effect: FillEffect, leverage: number, newId: (p: BookPosition) => number): PortfolioFill {
    const prev = this.positions.get(fill.symbol) ?? null;
    const before = prev ? { ...prev } : null;
    this.cash += effect.cashDelta;
    let closed: BookPosition | null = null;
    let after: BookPosition | null = null;
    let opened = false;

    if (prev) {
      prev.realizedPnl += effect.realizedPnl;
      prev.fees += effect.closedQty > 0 && effect.openedQty > 0 ? (fill.fee * effect.closedQty) / fill.qty : fill.fee;
    }
    const np = effect.position;
    if (prev && (!np || np.side !== prev.side)) {
      prev.qty = 0;
      prev.markPrice = fill.price;
      prev.unrealizedPnl = 0;
      closed = prev;
      this.positions.delete(fill.symbol);
    }
    if (np) {
      const cur = this.positions.get(fill.symbol);
      if (cur) {
        cur.qty = np.qty;
        cur.entryPrice = np.entryPrice;
        if (np.qty > cur.maxQty) cur.maxQty = np.qty;
        this.updateMargin(cur);
        after = cur;
      } else {
        const lev = this.marketType === 'perp' ? leverage : 1;
        const openFee = closed ? (fill.fee * effect.openedQty) / fill.qty : fill.fee;
        const pos: BookPosition = {
          id: 0,
          symbol: fill.symbol,
          side: np.side,
          qty: np.qty,
          maxQty: np.qty,
          entryPrice: np.entryPrice,
          leverage: lev,
          margin: 0,
          realizedPnl: 0,
          fees: openFee,
          openedAt: fill.ts,
          markPrice: fill.price,
          unrealizedPnl: 0,
        };
        this.updateMargin(pos);
        pos.id = newId(pos);
        this.positions.set(fill.symbol, pos);
        after = pos;
        opened = true;
      }
    }
    return { effect, before, after, closed, opened };
  }

  private updateMargin(p: BookPosition): void {
    if (this.marketType === 'perp') {
      p.margin = (p.qty * p.entryPrice) / p.leverage;
      p.liquidationPrice = liquidationPrice(p.side, p.entryPrice, p.leverage);
    } else {
      p.margin = p.qty * p.entryPrice;
    }
  }

  /** Mark a symbol's position to a price. Hot path: no allocation. */
  mark(symbol: string, price: number): void {
    const p = this.positions.get(symbol);
    if (p === undefined) return;
    p.markPrice = price;
    p.unrealizedPnl = unrealizedPnl(p, price);
  }

  unrealized(): number {
    let u = 0;
    for (const p of this.positions.values()) u += p.unrealizedPnl;
    return u;
  }

  /** Spot: cash + holdings at mark. Perps: wallet + unrealized PnL. */
  equity(): number {
    if (this.positions.size === 0) return this.cash;
    let e = this.cash;
    for (const p of this.positions.values()) e += this.marketType === 'spot' ? p.qty * p.markPrice : p.unrealizedPnl;
    return e;
  }

  /** Capital tied up: spot notional at mark, perp isolated margin. */
  capitalInUse(): number {
    let c = 0;
    for (const p of this.positions.values()) c += this.marketType === 'spot' ? p.qty * p.markPrice : p.margin;
    return c;
  }

  /** Exposure: notional at mark of all positions. */
  exposure(): number {
    let c = 0;
    for (const p of this.positions.values()) c += p.qty * p.markPrice;
    return c;
  }

  /** Cash free for new entries: spot cash; perps wallet minus margin in use. */
  freeCash(): number {
    if (this.marketType === 'spot') return this.cash;
    let m = 0;
    for (const p of this.positions.values()) m += p.margin;
    return this.cash - m;
  }
}
