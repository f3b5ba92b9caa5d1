import type { MarketType, PositionSide, Side } from './types.ts';

// Position arithmetic shared by the paper exchange (the venue's books) and the engine's portfolio
// (the bot's books), so both sides of reconciliation compute PnL the same way.
// One-way mode: one net position per symbol.

export interface NetPosition {
  side: PositionSide;
  qty: number;
  entryPrice: number;
}

export interface FillEffect {
  /** Position after the fill, or null when flat. */
  position: NetPosition | null;
  /** PnL realized on the closed part, before fees. */
  realizedPnl: number;
  /** Quantity that reduced an existing position. */
  closedQty: number;
  /** Quantity that opened or increased a position (after a flip, the new side's size). */
  openedQty: number;
  /** Change to the quote wallet: spot pays/receives notional; perps book realized PnL. Fees deducted. */
  cashDelta: number;
}

const QTY_EPS = 1e-12;

export function applyFill(
  pos: NetPosition | null,
  side: Side,
  qty: number,
  price: number,
  fee: number,
  marketType: MarketType,
): FillEffect {
  const dir: PositionSide = side === 'buy' ? 'long' : 'short';
  let position: NetPosition | null;
  let realizedPnl = 0;
  let closedQty = 0;
  let openedQty = 0;

  if (!pos || pos.qty <= QTY_EPS) {
    position = { side: dir, qty, entryPrice: price };
    openedQty = qty;
  } else if (pos.side === dir) {
    const total = pos.qty + qty;
    position = { side: dir, qty: total, entryPrice: (pos.entryPrice * pos.qty + price * qty) / total };
    openedQty = qty;
  } else {
    closedQty = Math.min(pos.qty, qty);
    realizedPnl = (price - pos.entryPrice) * closedQty * (pos.side === 'long' ? 1 : -1);
    const rest = pos.qty - closedQty;
    const flip = qty - closedQty;
    if (rest > QTY_EPS) position = { side: pos.side, qty: rest, entryPrice: pos.entryPrice };
    else if (flip > QTY_EPS) {
      position = { side: dir, qty: flip, entryPrice: price };
      openedQty = flip;
    } else position = null;
  }

  const cashDelta = marketType === 'spot' ? (side === 'buy' ? -qty * price : qty * price) - fee : realizedPnl - fee;
  return { position, realizedPnl, closedQty, openedQty, cashDelta };
}

export function unrealizedPnl(pos: NetPosition, mark: number): number {
  return (mark - pos.entryPrice) * pos.qty * (pos.side === 'long' ? 1 : -1);
}

/** Default maintenance margin rate for the isolated-margin liquidation estimate (0.5 %). */
export const DEFAULT_MMR = 0.005;

/**
 * Isolated-margin liquidation price for a linear (USDT) perpetual: the price at which the loss eats
 * the initial margin down to the maintenance margin. Simplified: one tier, fees ignored.
 */
export function liquidationPrice(side: PositionSide, entryPrice: number, leverage: number, mmr = DEFAULT_MMR): number {
  const lev = Math.max(1, leverage);
  return side === 'long' ? entryPrice * (1 - 1 / lev + mmr) : entryPrice * (1 + 1 / lev - mmr);
}
